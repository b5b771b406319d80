export {
  budgetCurve,
  calibrateThresholds,
  confidence,
  evaluateExits,
  exitProportions,
  exitSteps,
  randomExitAccuracy,
  randomExits,
  stepScores,
  thresholdsForBudget,
} from './exit.js';
export type { BudgetCurveInput, BudgetPoint, ScoreKind, StepLogits } from './exit.js';
export { EARLY_EXIT_ERROR_CODES, EarlyExitError, ExitCalibrationError } from './errors.js';
export type { EarlyExitErrorCode } from './errors.js';
