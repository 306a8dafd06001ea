import { describe, expect, it } from "vitest";
import { classifySql, describeSql, splitSql } from "../../runtime/data.js";

describe("splitSql", () => {
  it.each([
    ["UPDATE x SET a = 1; DELETE FROM y", ["UPDATE x SET a = 1", "DELETE FROM y"]],
    ["SELECT ';' AS s; SELECT 2;", ["SELECT ';' AS s", "SELECT 2"]],
    ['SELECT "a;b"; SELECT `c;d`', ['SELECT "a;b"', "SELECT `c;d`"]],
    ["SELECT 'it''s; ok'; SELECT 2", ["SELECT 'it''s; ok'", "SELECT 2"]],
    ["SELECT 'back\\'slash;'; SELECT 2", ["SELECT 'back\\'slash;'", "SELECT 2"]],
    ["-- a comment; still a comment\nSELECT 1", ["-- a comment; still a comment\nSELECT 1"]],
    ["/* ; */ SELECT 1; # mysql; comment\nSELECT 2", ["/* ; */ SELECT 1", "# mysql; comment\nSELECT 2"]],
    [";;  ; -- only a comment", []],
    ["SELECT /*!50000 1; */ 2; SELECT 3", ["SELECT /*!50000 1; */ 2", "SELECT 3"]],
    ["", []],
    [
      "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = n + 1; DELETE FROM c; END; SELECT 1",
      ["CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = n + 1; DELETE FROM c; END", "SELECT 1"],
    ],
  ])("%j", (sql, expected) => {
    expect(splitSql(sql, "mysql")).toEqual(expected);
  });
});

describe("classifySql", () => {
  it.each([
    ["UPDATE person SET name = 'x'", "UPDATE", "person"],
    ["update `my table` set a = 1", "UPDATE", "my table"],
    ["UPDATE OR IGNORE t SET a = 1", "UPDATE", "t"],
    ["DELETE FROM dog WHERE id = 3", "DELETE FROM", "dog"],
    ["delete low_priority from app.dog", "DELETE FROM", "app.dog"],
    ["INSERT INTO log (a) VALUES (1)", "INSERT INTO", "log"],
    ['INSERT OR REPLACE INTO "log" VALUES (1)', "INSERT INTO", "log"],
    ["INSERT IGNORE INTO t VALUES (1)", "INSERT INTO", "t"],
    ["REPLACE INTO t VALUES (1)", "REPLACE INTO", "t"],
    ["TRUNCATE TABLE sessions", "TRUNCATE TABLE", "sessions"],
    ["CREATE TABLE IF NOT EXISTS t (a INT)", "CREATE TABLE", "t"],
    ["create unique index idx_a on t (a)", "CREATE INDEX", "idx_a"],
    ["DROP TABLE IF EXISTS old_stuff", "DROP TABLE", "old_stuff"],
    ["ALTER TABLE person ADD COLUMN x INT", "ALTER TABLE", "person"],
    ["WITH s AS (SELECT 1) UPDATE t SET a = 1", "UPDATE", "t"],
    ["-- why\nUPDATE t SET a = 1", "UPDATE", "t"],
    ["SELECT count(*) FROM t", "SELECT", undefined],
    ["PRAGMA foreign_keys = ON", "PRAGMA", undefined],
    ["SET FOREIGN_KEY_CHECKS = 0", "SET", undefined],
  ])("%s → %s %s", (sql, verb, target) => {
    const info = classifySql(sql);
    expect(info.verb).toBe(verb);
    expect(info.target).toBe(target);
    expect(info.text).toBe(sql);
  });
});

describe("describeSql", () => {
  it.each([
    ["UPDATE x SET a = 1; DELETE FROM y WHERE b;", "would run 2 statements: UPDATE x, DELETE FROM y"],
    ["UPDATE auth_user SET registration_key = ''", "would run 1 statement: UPDATE auth_user"],
    ["-- nothing here", "would run no statement"],
    [
      "ALTER TABLE t ADD c INT; INSERT INTO t (c) VALUES (1); SELECT 1",
      "would run 3 statements: ALTER TABLE t, INSERT INTO t, SELECT",
    ],
  ])("%j", (sql, summary) => {
    expect(describeSql(sql).summary).toBe(summary);
  });

  it("lists each statement", () => {
    expect(describeSql("DELETE FROM a; UPDATE b SET x = 1").statements).toEqual([
      { verb: "DELETE FROM", target: "a", text: "DELETE FROM a" },
      { verb: "UPDATE", target: "b", text: "UPDATE b SET x = 1" },
    ]);
  });
});
