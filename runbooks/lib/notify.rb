# Shared by the platform runbooks: where announcements go.
param notify_url    = "http://127.0.0.1:8065/hooks/ops"
var channel         = "#ops"
secret notify_token = file "~/.config/runbook/notify-token"
