// Compiles only while the generated types fit the way src/tour.mjs uses the API
// (tsc -p ., after codegen.mjs): money and instants are exactly `string` (not `any`,
// which a missing scalars mapping gives), enums are the contract's string unions,
// and payload errors carry a LedgerErrorCode.
import type {
  LedgerErrorCode,
  StatementQuery,
  TransactionStatus,
  TransferMutation,
} from "../generated/graphql";

type Exactly<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

type Transaction = NonNullable<TransferMutation["createTransaction"]["transaction"]>;
type Entry = NonNullable<StatementQuery["account"]>["entries"]["edges"][number]["node"];
type PayloadError = TransferMutation["createTransaction"]["errors"][number];

export const checks: [
  Exactly<Transaction["amount"], string>,
  Exactly<Transaction["createdAt"], string>,
  Exactly<Transaction["sender"]["balance"], string>,
  Exactly<Entry["balanceAfter"], string>,
  Exactly<Entry["sequence"], number>,
  Exactly<PayloadError["code"], LedgerErrorCode>,
] = [true, true, true, true, true, true];

export const failed: TransactionStatus = "FAILED";
export const short: LedgerErrorCode = "INSUFFICIENT_FUNDS";
