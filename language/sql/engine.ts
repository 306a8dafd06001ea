// The database engines runbook speaks to, named once. Everything that differs
// between them is in their SqlDialect (dialect.ts); a third engine adds its name
// here and a dialect module beside sqlite.ts and mysql.ts.

export type Engine = "sqlite" | "mysql";
