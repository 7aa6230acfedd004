#!/usr/bin/env bash
# `make run`: a single server on the embedded SQLite database with demo data.
set -euo pipefail
perch="$1"
config="$2"
dir=$(dirname "$config")
mkdir -p "$dir"
if [ ! -f "$config" ]; then
  cat > "$config" <<TOML
# Perch configuration for the demo started by \`make run\`; every setting is documented in
# docs/OPERATOR_GUIDE.md. Paths are relative to the directory perch is started from.
domain = "localhost"
data_dir = "$dir"

[c2s]
bind = "127.0.0.1"
port = 5222
direct_tls_port = 5223

[http]
bind = "127.0.0.1"
port = 8080
tls_port = 8443
public_url = "http://localhost:8080"

[admin]
bind = "127.0.0.1"
port = 8011
TOML
  echo "wrote $config"
fi
"$perch" demo --config "$config"
cat <<TEXT

In a browser: http://localhost:8080/chat/ (web chat) and http://localhost:8080/rooms/
(room management); sign in with one of the accounts above.
Or connect any XMPP client to 127.0.0.1 port 5222 (STARTTLS; the certificate is self-signed,
in $dir/tls/cert.pem) with one of the accounts above, and join a room, e.g.
  profanity:  /connect alice@localhost server 127.0.0.1 port 5222 tls trust
              /join lobby@chat.localhost
Administer it from this machine or another with the admin account above (admin API on
port 8011, HTTPS with the same certificate):
  echo PASSWORD > admin-password   # the admin account's password from the list above
  $perch admin --server localhost:8011 --cacert $dir/tls/cert.pem \\
      --user admin --password-file admin-password room list
Stop the server with Ctrl-C.

TEXT
exec "$perch" serve --config "$config"
