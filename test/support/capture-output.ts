/**
 * Collects what the process writes to stdout and stderr (Powertools logs and EMF metrics go
 * there) for the current test, instead of printing it. Call in beforeEach; restore in afterEach
 * with jest.restoreAllMocks().
 */
export function captureOutput(): string[] {
  const written: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  }
  return written;
}
