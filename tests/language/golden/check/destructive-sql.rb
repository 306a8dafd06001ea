runbook "destructive-sql" version "1.0.0"

database appdb = sqlite "/srv/app.sqlite"

step "Reset" {
  sql appdb "DELETE FROM sessions"
  sql appdb """
    UPDATE users SET active = 0 WHERE last_login < '2010-01-01';
    DROP TABLE old_users;
    """
}
step "Reset, confirmed" {
  confirm "Drop the old tables?"
  sql appdb "DROP TABLE old_users; TRUNCATE logs"
}
step "Safe" {
  sql appdb "DELETE FROM sessions WHERE expired = 1 -- DROP TABLE x"
}
