import { z } from 'zod';

// Timestamp columns as every adapter returns them: pg and PGlite hand back Dates, PostgREST hands
// back ISO strings, and coercion makes both the same.

export const date = z.coerce.date();
export const nullableDate = z.coerce.date().nullable();
