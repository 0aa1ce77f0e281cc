export {
  type DetectOptions,
  type DetectPixelsOptions,
  Detr,
  type DetrDetection,
  type DetrImageSegmentation,
  type DetrLoadOptions,
  type DetrSegment,
  type SegmentOptions,
  type SegmentTask,
} from './detr-model.js';
export {
  type CocoCategoryMetrics,
  type CocoDetection,
  type CocoEvaluation,
  type CocoEvaluationOptions,
  type CocoGroundTruth,
  type CocoImage,
  type CocoMetrics,
  evaluateCoco,
} from './evaluation/coco-eval.js';
export { type CocoJsonEvaluation, type CocoParams, cocoSummary, evaluateCocoJson } from './evaluation/coco-json.js';
export { detrFamily } from './family.js';
export {
  type DetectionTarget,
  type HungarianMatcherOptions,
  hungarianMatch,
  type MatchIndices,
  matchingCostMatrices,
} from './matching/hungarian-matcher.js';
export {
  type Assignment,
  type CostMatrix,
  type LinearSumAssignmentOptions,
  linearSumAssignment,
} from './matching/linear-sum-assignment.js';
export {
  detrSetPredictionLoss,
  type SetPredictionLoss,
  type SetPredictionLossOptions,
  type SetPredictionLossTerms,
} from './matching/set-prediction-loss.js';
export {
  buildDetrGraph,
  DETR_ARCHITECTURES,
  type DetrArchitecture,
  type DetrBuildOptions,
  type DetrSpec,
  readDetrSpec,
} from './model/detr-graph.js';
export { type Box, boxArea, boxIouAndUnion, centerToCorners, generalizedBoxIou, generalizedBoxIouMatrix } from './postprocess/boxes.js';
export {
  type Detection,
  type DetrDetectionOutputs,
  type ImageDetections,
  type PostProcessObjectDetectionOptions,
  postProcessObjectDetection,
  type TargetSize,
} from './postprocess/object-detection.js';
export {
  type DetrSegmentationOutputs,
  type ImageSegmentation,
  type PostProcessInstanceOptions,
  type PostProcessPanopticOptions,
  type PostProcessSemanticOptions,
  postProcessInstanceSegmentation,
  postProcessPanopticSegmentation,
  postProcessSemanticSegmentation,
  type SegmentInfo,
} from './postprocess/segmentation.js';
