/** The default of an exhaustive switch: a new member of the union is a compile error here. */
export function assertNever(x: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(x)}`);
}
