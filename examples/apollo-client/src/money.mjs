// Money arrives as a string with two decimals ("1234.50"). Never parseFloat it:
// compare and add in integer centavos.
export function toCents(amount) {
  const match = /^(-?)(\d+)\.(\d{2})$/.exec(amount);
  if (!match) throw new Error(`not a ledger amount: ${amount}`);
  const cents = BigInt(match[2]) * 100n + BigInt(match[3]);
  return match[1] ? -cents : cents;
}
