#!/usr/bin/env python3
"""A stand-in for web2py.py in the runbook sandbox.

`python3 web2py.py -S APP -M -N [-R SCRIPT]` runs the models of
applications/APP/models/*.py in name order, as web2py does, with a small DAL:
`DAL('sqlite://FILE', migrate=...)` opens applications/APP/databases/FILE
(`DAL('mysql://USER[:PASSWORD]@HOST[:PORT]/DB', ...)` a MySQL or MariaDB
database, through the `mysql` command-line client), and
`db.define_table(NAME, Field(...), ..., migrate=...)` migrates the table when
migrate is true: it creates a missing table and adds the missing columns
(ALTER TABLE ... ADD COLUMN), as web2py's DAL does; with migrate false it
changes nothing. Then it runs SCRIPT, if given, and reads the shell's input
until its end (`< /dev/null` ends it at once).
"""
import os
import sqlite3
import subprocess
import sys
import types
from urllib.parse import unquote, urlsplit

TYPES = {
    "string": "CHAR({length})",
    "text": "TEXT",
    "integer": "INTEGER",
    "double": "DOUBLE",
    "boolean": "CHAR(1)",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}


class Field:
    def __init__(self, name, type="string", length=512, default=None, **_ignored):
        self.name = name
        self.type = type
        self.length = length
        self.default = default

    def sql(self, types=None, quote='"'):
        column = (types or TYPES).get(self.type, "CHAR({length})").format(length=self.length)
        if self.default is not None:
            column += " DEFAULT " + (str(self.default) if isinstance(self.default, (int, float)) else "'" + str(self.default).replace("'", "''") + "'")
        return '%s%s%s %s' % (quote, self.name, quote, column)


MYSQL_TYPES = dict(TYPES, string="VARCHAR({length})", datetime="DATETIME")


class MysqlConnection:
    """Just what the DAL below needs of a connection, through the mysql client."""

    def __init__(self, uri):
        u = urlsplit(uri)
        self.args = ["mysql", "--batch", "--skip-column-names", "-h", u.hostname or "localhost", "-P", str(u.port or 3306), "-u", unquote(u.username or "root")]
        self.env = dict(os.environ)
        if u.password:
            self.env["MYSQL_PWD"] = unquote(u.password)
        self.args.append(u.path.lstrip("/"))

    def execute(self, sql):
        out = subprocess.run(self.args + ["-e", sql], env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("web2py.py (sandbox): %s" % out.stderr.strip())
        return [line.split("\t") for line in out.stdout.splitlines()]

    def columns(self, table):
        return [row[0] for row in self.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '%s' ORDER BY ordinal_position" % table)]

    def commit(self):
        pass


class DAL:
    def __init__(self, uri, migrate=True, folder=None, **_ignored):
        self.migrate = migrate
        self.tables = []
        if uri.startswith("mysql://"):
            self.conn = MysqlConnection(uri)
            self.mysql = True
            return
        if not uri.startswith("sqlite://"):
            sys.exit("web2py.py (sandbox): only sqlite:// and mysql:// databases, not %s" % uri)
        self.path = os.path.join(folder or DATABASES, uri[len("sqlite://"):])
        self.conn = sqlite3.connect(self.path)
        self.mysql = False

    def define_table(self, name, *fields, migrate=None, **_ignored):
        self.tables.append(name)
        if not (self.migrate if migrate is None else migrate):
            return
        if self.mysql:
            have = self.conn.columns(name)
            q, types, key = "`", MYSQL_TYPES, "`id` INT AUTO_INCREMENT PRIMARY KEY"
        else:
            have = [row[1] for row in self.conn.execute('PRAGMA table_info("%s")' % name)]
            q, types, key = '"', TYPES, '"id" INTEGER PRIMARY KEY AUTOINCREMENT'
        if not have:
            columns = [key] + [f.sql(types, q) for f in fields]
            self.conn.execute('CREATE TABLE %s%s%s(%s)' % (q, name, q, ", ".join(columns)))
            print("migrated: created table %s" % name)
            return
        for f in fields:
            if f.name not in have:
                self.conn.execute('ALTER TABLE %s%s%s ADD COLUMN %s' % (q, name, q, f.sql(types, q)))
                print("migrated: added column %s.%s" % (name, f.name))

    def commit(self):
        self.conn.commit()


def main(argv):
    app = None
    script = None
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "-S":
            app = args.pop(0)
        elif a == "-R":
            script = args.pop(0)
        elif a in ("-M", "-N"):
            pass
        else:
            sys.exit("web2py.py (sandbox): unknown option %s" % a)
    if app is None:
        sys.exit("usage: web2py.py -S APP -M -N [-R SCRIPT]")
    folder = os.path.join("applications", app)
    if not os.path.isdir(folder):
        sys.exit("web2py.py (sandbox): no application %s" % app)
    global DATABASES
    DATABASES = os.path.join(folder, "databases")
    settings = types.SimpleNamespace()
    env = {"DAL": DAL, "Field": Field, "auth": types.SimpleNamespace(settings=settings), "request": types.SimpleNamespace(application=app)}
    models = os.path.join(folder, "models")
    for name in sorted(os.listdir(models)):
        if name.endswith(".py"):
            path = os.path.join(models, name)
            with open(path) as f:
                exec(compile(f.read(), path, "exec"), env)
    if script:
        with open(script) as f:
            exec(compile(f.read(), script, "exec"), env)
    db = env.get("db")
    if db is not None:
        db.commit()
    sys.stdin.read()


DATABASES = "databases"

if __name__ == "__main__":
    main(sys.argv[1:])
