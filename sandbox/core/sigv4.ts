/** What the SigV4 signature of a request says about who sent it and where. */
export interface SignatureScope {
  accessKeyId: string;
  region: string;
  service: string;
}

const HEADER_PATTERN = /Credential=([^/\s,]+)\/\d{8}\/([^/\s,]+)\/([^/\s,]+)\/aws4_request/;

/** Reads the credential scope from the Authorization header or, for presigned URLs, the query. */
export function readSignatureScope(
  headers: Record<string, string>,
  query: URLSearchParams,
): SignatureScope | undefined {
  const authorization = headers.authorization;
  const credential =
    authorization ??
    (query.get('X-Amz-Credential') ? `Credential=${query.get('X-Amz-Credential')}` : undefined);
  const match = credential ? HEADER_PATTERN.exec(credential) : null;
  if (!match) return undefined;
  return { accessKeyId: match[1] as string, region: match[2] as string, service: match[3] as string };
}
