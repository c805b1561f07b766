/** One CloudWatch embedded-metric-format document, as Powertools Metrics writes it to stdout. */
export type EmfDocument = {
  _aws: {
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
  };
} & Record<string, unknown>;

/** The EMF documents among what the process wrote (log lines are skipped). */
export function emfDocuments(written: readonly string[]): EmfDocument[] {
  return written
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as EmfDocument);
}

/** Every metric name those documents emit, in order. */
export function metricNames(documents: readonly EmfDocument[]): string[] {
  return documents.flatMap((doc) => doc._aws.CloudWatchMetrics.flatMap((m) => m.Metrics.map((x) => x.Name)));
}
