import type { Tag } from './world';

/** Reads a decoded `Tags` list (`[{Key, Value}]`); anything else is no tags. */
export function readTags(value: unknown): Tag[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((tag): tag is Record<string, unknown> => typeof tag === 'object' && tag !== null)
    .map((tag) => ({ Key: String(tag.Key ?? ''), Value: String(tag.Value ?? '') }));
}

/** Tags after a TagResource: a key given again takes its new value, as every tagging API does. */
export function mergeTags(existing: readonly Tag[], incoming: readonly Tag[]): Tag[] {
  const byKey = new Map(existing.map((tag) => [tag.Key, tag.Value]));
  for (const tag of incoming) byKey.set(tag.Key, tag.Value);
  return [...byKey].map(([Key, Value]) => ({ Key, Value }));
}

/** Tags after an UntagResource; keys that are not there are ignored, as AWS does. */
export function removeTagKeys(existing: readonly Tag[], keys: readonly string[]): Tag[] {
  const removed = new Set(keys);
  return existing.filter((tag) => !removed.has(tag.Key));
}
