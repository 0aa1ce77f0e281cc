import { VitkitError } from '@vitkit/core';

/** A dense cost matrix: `rows` arrays of equal length, or a flat row-major array with its shape. */
export type CostMatrix =
  | readonly (readonly number[])[]
  | { readonly data: ArrayLike<number>; readonly rows: number; readonly cols: number };

export interface LinearSumAssignmentOptions {
  /** Find the assignment of largest total instead of smallest. Default false. */
  maximize?: boolean;
}

export interface Assignment {
  /** Row index of each assigned pair, ascending (scipy's convention). */
  rowIndices: number[];
  /** Column assigned to `rowIndices[k]`. */
  colIndices: number[];
  /** Sum of the assigned costs (of the original matrix, also when maximizing). */
  totalCost: number;
}

/**
 * Solves the rectangular linear sum assignment problem: pick min(rows, cols) cells, at most one per
 * row and per column, with the smallest total cost. Same contract as
 * `scipy.optimize.linear_sum_assignment`: row indices sorted ascending, ties broken the way scipy's
 * solver breaks them, because we run the same algorithm (the shortest augmenting path method of
 * Jonker–Volgenant as described by Crouse, IEEE TAES 2016). O(n² m) for n ≤ m.
 *
 * Costs may be any finite numbers or +Infinity (a forbidden cell); NaN and -Infinity are refused, as
 * is a matrix in which no complete assignment avoids +Infinity.
 */
export function linearSumAssignment(costMatrix: CostMatrix, options: LinearSumAssignmentOptions = {}): Assignment {
  const { data, rows, cols } = toFlat(costMatrix);
  const maximize = options.maximize ?? false;
  if (rows === 0 || cols === 0) return { rowIndices: [], colIndices: [], totalCost: 0 };

  // The solver assigns every row, so it needs rows <= cols; a tall matrix is solved transposed.
  const transpose = cols < rows;
  const n = transpose ? cols : rows;
  const m = transpose ? rows : cols;
  const cost = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const value = transpose ? data[j * cols + i] : data[i * cols + j];
      if (Number.isNaN(value) || value === (maximize ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY)) {
        throw new VitkitError(
          'INVALID_ARGUMENT',
          'linearSumAssignment: the cost matrix contains NaN or an infinity in the optimising direction; replace it with a finite value.',
        );
      }
      cost[i * m + j] = maximize ? -value : value;
    }
  }

  const colForRow = solveRowsNotMoreThanCols(cost, n, m);

  const rowIndices: number[] = [];
  const colIndices: number[] = [];
  if (transpose) {
    // Rows of the transposed problem are our columns: list the pairs by our row, ascending.
    const pairs = Array.from(colForRow, (row, col) => [row, col] as const).sort((a, b) => a[0] - b[0]);
    for (const [row, col] of pairs) {
      rowIndices.push(row);
      colIndices.push(col);
    }
  } else {
    for (let i = 0; i < n; i++) {
      rowIndices.push(i);
      colIndices.push(colForRow[i]);
    }
  }
  let totalCost = 0;
  for (let k = 0; k < rowIndices.length; k++) totalCost += data[rowIndices[k] * cols + colIndices[k]];
  return { rowIndices, colIndices, totalCost };
}

/**
 * Core solver for n <= m: adds one row at a time, each by a Dijkstra-like search for the shortest
 * augmenting path in reduced costs, then updates the dual variables so reduced costs stay
 * non-negative. Returns the column of each row.
 */
function solveRowsNotMoreThanCols(cost: Float64Array, n: number, m: number): Int32Array {
  const u = new Float64Array(n);
  const v = new Float64Array(m);
  const shortestPathCosts = new Float64Array(m);
  const path = new Int32Array(m).fill(-1);
  const colForRow = new Int32Array(n).fill(-1);
  const rowForCol = new Int32Array(m).fill(-1);
  const visitedRows = new Uint8Array(n);
  const visitedCols = new Uint8Array(m);
  const remaining = new Int32Array(m);

  for (let currentRow = 0; currentRow < n; currentRow++) {
    let minVal = 0;
    let i = currentRow;
    // Columns are scanned from the last one first, as scipy does: with equal costs this is what
    // makes a constant matrix come out as the identity assignment, and what makes ties agree.
    let numRemaining = m;
    for (let k = 0; k < m; k++) remaining[k] = m - k - 1;
    visitedRows.fill(0);
    visitedCols.fill(0);
    shortestPathCosts.fill(Number.POSITIVE_INFINITY);

    let sink = -1;
    while (sink === -1) {
      let index = -1;
      let lowest = Number.POSITIVE_INFINITY;
      visitedRows[i] = 1;
      for (let k = 0; k < numRemaining; k++) {
        const j = remaining[k];
        const reduced = minVal + cost[i * m + j] - u[i] - v[j];
        if (reduced < shortestPathCosts[j]) {
          path[j] = i;
          shortestPathCosts[j] = reduced;
        }
        // Among equally short paths prefer one that ends at a free column: it finishes the search.
        if (shortestPathCosts[j] < lowest || (shortestPathCosts[j] === lowest && rowForCol[j] === -1)) {
          lowest = shortestPathCosts[j];
          index = k;
        }
      }
      minVal = lowest;
      if (minVal === Number.POSITIVE_INFINITY) {
        throw new VitkitError(
          'INVALID_ARGUMENT',
          'linearSumAssignment: the cost matrix is infeasible (every complete assignment uses an infinite cost).',
        );
      }
      const j = remaining[index];
      if (rowForCol[j] === -1) sink = j;
      else i = rowForCol[j];
      visitedCols[j] = 1;
      remaining[index] = remaining[--numRemaining];
    }

    // Dual update keeps complementary slackness for the rows and columns the search touched.
    u[currentRow] += minVal;
    for (let r = 0; r < n; r++) {
      if (visitedRows[r] && r !== currentRow) u[r] += minVal - shortestPathCosts[colForRow[r]];
    }
    for (let c = 0; c < m; c++) {
      if (visitedCols[c]) v[c] -= minVal - shortestPathCosts[c];
    }

    // Augment: flip the assignment along the path back from the sink to the new row.
    let j = sink;
    for (;;) {
      const r = path[j];
      rowForCol[j] = r;
      const previous = colForRow[r];
      colForRow[r] = j;
      j = previous;
      if (r === currentRow) break;
    }
  }
  return colForRow;
}

function toFlat(costMatrix: CostMatrix): { data: ArrayLike<number>; rows: number; cols: number } {
  if (!Array.isArray(costMatrix)) {
    const flat = costMatrix as Exclude<CostMatrix, readonly (readonly number[])[]>;
    if (
      !Number.isInteger(flat.rows) ||
      !Number.isInteger(flat.cols) ||
      flat.rows < 0 ||
      flat.cols < 0 ||
      flat.data.length !== flat.rows * flat.cols
    ) {
      throw new VitkitError(
        'TENSOR_SHAPE_MISMATCH',
        `linearSumAssignment: a ${flat.rows}x${flat.cols} cost matrix needs ${flat.rows * flat.cols} values, got ${flat.data.length}.`,
      );
    }
    return flat;
  }
  const rows = costMatrix.length;
  const cols = rows === 0 ? 0 : costMatrix[0].length;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    if (costMatrix[i].length !== cols) {
      throw new VitkitError(
        'TENSOR_SHAPE_MISMATCH',
        `linearSumAssignment: row ${i} has ${costMatrix[i].length} costs but row 0 has ${cols}; the matrix must be rectangular.`,
      );
    }
    data.set(costMatrix[i], i * cols);
  }
  return { data, rows, cols };
}
