import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The house is one straight stack: each layer imports only from itself and the layers below it
 * (README, "Layout"). An arrow running back up (a function importing the sandbox, say) is what
 * this test refuses.
 */
const LAYERS = ['bin', 'scripts', 'sandbox', 'statemachine', 'functions', 'commons'];
const ROOT = resolve(__dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|cjs|js)$/.test(entry.name) ? [path] : [];
  });
}

const layerOf = (path: string): number => LAYERS.indexOf(relative(ROOT, path).split('/')[0] ?? '');

/** Every relative import between layers, as [importing file's layer, imported file's layer, text]. */
function crossLayerImports(): Array<[number, number, string]> {
  return LAYERS.flatMap((layer) => sources(join(ROOT, layer))).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(/(?:from|import|require\()\s*'(\.{1,2}\/[^']+)'/g)].map(
      (match) => match[1] ?? '',
    );
    return specifiers
      .map((specifier): [number, number, string] => [
        layerOf(file),
        layerOf(resolve(dirname(file), specifier)),
        `${relative(ROOT, file)} imports ${specifier}`,
      ])
      .filter(([from, to]) => from !== to);
  });
}

describe('the layout', () => {
  it('has no import running up the stack bin → scripts → sandbox → statemachine → functions → commons', () => {
    const arrows = crossLayerImports();
    expect(arrows.filter(([from, to]) => to < from).map(([, , text]) => text)).toEqual([]);
    // The scan sees the stack's real arrows: the sandbox runs the state machine's local runner.
    expect(arrows).toContainEqual([2, 3, expect.stringContaining('statemachine/local/run-local')]);
  });
});
