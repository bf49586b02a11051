/**
 * A streaming CSV reader for label files: UTF-8 with or without BOM, CRLF or LF, quoted fields
 * (with "" escapes and newlines inside quotes), comma, semicolon or tab (detected from the
 * first record). Yields records with their 1-based record number; never holds the whole file.
 */
import { openUserFile, streamUserFile } from '../../shared/node/user-file';
import { StringDecoder } from 'node:string_decoder';

export interface CsvRecord {
  /** 1-based number of the record in the file, the header included. */
  row: number;
  /** 1-based line where the record starts. */
  line: number;
  fields: string[];
}

export type Delimiter = ',' | ';' | '\t';

/** Picks the delimiter that appears most often outside quotes in the first line. */
export function detectDelimiter(firstLine: string): Delimiter {
  const counts: Record<Delimiter, number> = { ',': 0, ';': 0, '\t': 0 };
  let inQuotes = false;
  for (const ch of firstLine) {
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (ch === ',' || ch === ';' || ch === '\t')) counts[ch]++;
  }
  let best: Delimiter = ',';
  for (const d of [';', '\t'] as const) if (counts[d] > counts[best]) best = d;
  return best;
}

async function readHead(file: string, bytes = 64 * 1024): Promise<string> {
  const { handle: fh } = await openUserFile(file);
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return new StringDecoder('utf8').write(buf.subarray(0, bytesRead)).replace(/^\uFEFF/, '');
  } finally {
    await fh.close();
  }
}

export async function* readCsv(file: string, delimiter?: Delimiter): AsyncGenerator<CsvRecord> {
  const delim = delimiter ?? detectDelimiter((await readHead(file)).split(/\r?\n/, 1)[0] ?? '');
  const decoder = new StringDecoder('utf8');
  let field = '';
  let fields: string[] = [];
  let inQuotes = false;
  let quoteSeen = false; // the previous char closed a quote (or is a "" escape's first half)
  let first = true;
  let row = 0;
  let line = 1;
  let recordLine = 1;
  let pendingCR = false;
  const out: CsvRecord[] = [];

  const endRecord = (): void => {
    fields.push(field);
    field = '';
    const blank = fields.length === 1 && fields[0]!.trim() === '';
    if (!blank) out.push({ row: ++row, line: recordLine, fields });
    else row++;
    fields = [];
  };

  const feed = (text: string): void => {
    for (let i = 0; i < text.length; i++) {
      let ch = text[i]!;
      if (first) {
        first = false;
        if (ch === '\uFEFF') continue;
      }
      if (pendingCR) {
        pendingCR = false;
        if (ch === '\n') continue; // CRLF: the CR already ended the record
      }
      if (inQuotes) {
        if (ch === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i++;
          } else if (i + 1 === text.length) {
            // Can't see the next char yet: decide on the next chunk.
            inQuotes = false;
            quoteSeen = true;
          } else {
            inQuotes = false;
          }
        } else {
          if (ch === '\n') line++;
          field += ch;
        }
        continue;
      }
      if (quoteSeen) {
        quoteSeen = false;
        if (ch === '"') {
          // A "" escape split across chunks.
          field += '"';
          inQuotes = true;
          continue;
        }
      }
      if (ch === '"' && field.trim() === '') {
        field = '';
        inQuotes = true;
      } else if (ch === delim) {
        fields.push(field);
        field = '';
      } else if (ch === '\r' || ch === '\n') {
        if (ch === '\r') pendingCR = true;
        endRecord();
        line++;
        recordLine = line;
      } else {
        field += ch;
      }
      ch = '';
    }
  };

  for await (const chunk of streamUserFile(file, { chunkBytes: 64 * 1024 })) {
    feed(decoder.write(chunk));
    while (out.length > 0) yield out.shift()!;
  }
  feed(decoder.end());
  if (field !== '' || fields.length > 0) endRecord();
  while (out.length > 0) yield out.shift()!;
}
