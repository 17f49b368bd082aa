#!/bin/sh
# Writes a .env for docker-compose.yml: a copy of .env.example in which every variable left
# empty there (every secret) gets a fresh random value, 48 hex characters from /dev/urandom.
#
#   deploy/make-env.sh            # writes .env next to docker-compose.yml
#   deploy/make-env.sh PATH       # writes PATH instead
#
# Refuses to overwrite an existing file: new secrets would lock the services out of a
# database and broker that already have the old ones.
set -eu

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${1:-$ROOT/.env}"

if [ -e "$TARGET" ]; then
    echo "make-env: $TARGET exists; not overwriting it" >&2
    exit 1
fi

random_secret() {
    od -An -tx1 -N24 /dev/urandom | tr -d ' \n'
}

umask 077
while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
        [A-Z]*=) printf '%s%s\n' "$line" "$(random_secret)" ;;
        *) printf '%s\n' "$line" ;;
    esac
done < "$ROOT/.env.example" > "$TARGET"
echo "make-env: wrote $TARGET (mode 600). Keep it out of git; back it up with the database." >&2
