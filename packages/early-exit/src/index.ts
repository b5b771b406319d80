export {
  budgetCurve,
  calibrateThresholds,
  confidence,
  evaluateExits,
  ExitCalibrationError,
  exitProportions,
  exitSteps,
  randomExitAccuracy,
  randomExits,
  stepScores,
  thresholdsForBudget,
} from './exit.js';
export type { BudgetCurveInput, BudgetPoint, ScoreKind, StepLogits } from './exit.js';
