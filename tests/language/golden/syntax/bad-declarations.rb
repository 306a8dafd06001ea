runbook "golden" version "1.0.0"

secret pw = "hunter2"
database db = postgres "x"
