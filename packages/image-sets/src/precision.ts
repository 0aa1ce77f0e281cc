import { type ModelDtype, VitkitError } from '@vitkit/core';

/**
 * The weight precision a stored vector came from, as the `dtype` column holds it. Indexes written
 * before the column held the precision say 'float32' there: their vectors came from fp32 weights.
 */
export function storedPrecision(dtype: string | undefined, where: string): ModelDtype {
  const precision = dtype === undefined || dtype === 'float32' ? 'fp32' : dtype;
  if (!(PRECISIONS as readonly string[]).includes(precision)) {
    throw new VitkitError(
      'INDEX_INVALID',
      `${where} says its vectors came from "${dtype}" weights; vitkit writes ${PRECISIONS.join(', ')}.`,
    );
  }
  return precision as ModelDtype;
}

const PRECISIONS = ['fp32', 'fp16', 'int8', 'int4'] as const satisfies readonly ModelDtype[];

/** The error for an index that holds another precision's vectors than the run would add. */
export function precisionMismatch(where: string, modelId: string | undefined, held: ModelDtype, wanted: ModelDtype): VitkitError {
  return new VitkitError(
    'INDEX_MODEL_MISMATCH',
    `${where} holds ${held} embeddings of ${modelId}, not ${wanted}: use --dtype ${held}, or another --out.`,
  );
}
