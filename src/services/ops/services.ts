import type { BreakerService } from "./breakers.ts";
import type { BudgetStatus } from "./budgets.ts";
import type { CheckView } from "./checks/service.ts";
import type { OpsContext } from "./context.ts";
import type { ModeService } from "./mode.ts";
import type { RoutingService } from "./routing.ts";

/** What the chat commands and the routes use of ops (built by the module). */
export interface OpsServices {
  ctx: OpsContext;
  breakers: BreakerService;
  routing: RoutingService;
  mode: ModeService;
  budgets(): Promise<BudgetStatus[]>;
  checks(): Promise<CheckView[]>;
  /** `select 1` answered. */
  databaseOk(): Promise<boolean>;
}
