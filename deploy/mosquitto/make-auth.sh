#!/bin/sh
# Writes the broker's password file and ACL into the auth volume (idempotent).
#
# Run by the one-shot `mosquitto-auth` service of docker-compose.yml, in the
# eclipse-mosquitto image (for mosquitto_passwd), before the broker starts. Accounts:
#   hub_ingest   MQTT_INGEST_PASSWORD       the ingest workers
#   hub_health   MQTT_HEALTHCHECK_PASSWORD  the broker's own healthcheck
#   <gateway_id> one "gateway_id:password" per line of MQTT_GATEWAY_ACCOUNTS
# Listed accounts are created or get their password updated; accounts added by hand
# (real gateways, see docs/deployment.md) are kept. Passwords are stored as salted hashes.
#
# Inputs besides the accounts (defaults fit the compose service):
#   MOSQUITTO_AUTH_DIR    where passwd and acl are written   (/mosquitto/auth)
#   MOSQUITTO_ACL_SOURCE  the ACL shipped in the repository  (/deploy/mosquitto/acl)
#   HOMEVITALS_ENVIRONMENT  "production" refuses published default and short passwords
set -eu

AUTH_DIR="${MOSQUITTO_AUTH_DIR:-/mosquitto/auth}"
ACL_SOURCE="${MOSQUITTO_ACL_SOURCE:-/deploy/mosquitto/acl}"
ENVIRONMENT="${HOMEVITALS_ENVIRONMENT:-production}"
PASSWD_FILE="$AUTH_DIR/passwd"
# Same list as homevitals.settings.KNOWN_DEFAULT_SECRETS (a test keeps them equal).
KNOWN_DEFAULT_SECRETS=" changeme change-me secret homevitals dev-secret "
MIN_PRODUCTION_LENGTH=16

fail() {
    echo "make-auth: $*" >&2
    exit 1
}

check_password() {  # user password
    [ -n "$2" ] || fail "empty password for MQTT account $1"
    if [ "$ENVIRONMENT" = "production" ]; then
        case "$KNOWN_DEFAULT_SECRETS" in
            *" $2 "*) fail "the password of MQTT account $1 is a published default; set a unique secret" ;;
        esac
        [ "${#2}" -ge "$MIN_PRODUCTION_LENGTH" ] \
            || fail "the password of MQTT account $1 is shorter than $MIN_PRODUCTION_LENGTH characters"
    fi
}

upsert() {  # user password
    check_password "$1" "$2"
    if [ -s "$PASSWD_FILE" ]; then
        mosquitto_passwd -b "$PASSWD_FILE" "$1" "$2"
    else
        mosquitto_passwd -c -b "$PASSWD_FILE" "$1" "$2"
    fi
    echo "make-auth: account $1 ready"
}

[ -r "$ACL_SOURCE" ] || fail "ACL $ACL_SOURCE not found (is deploy/mosquitto mounted?)"
mkdir -p "$AUTH_DIR"
umask 077  # the password file holds hashes: readable by the broker user only

upsert hub_ingest "${MQTT_INGEST_PASSWORD:?MQTT_INGEST_PASSWORD is not set; see .env.example}"
upsert hub_health "${MQTT_HEALTHCHECK_PASSWORD:?MQTT_HEALTHCHECK_PASSWORD is not set; see .env.example}"

# Gateway accounts: the user name is the gateway id, which the ACL's %u pattern turns into
# the only topic tree the gateway may publish to. Anything else (a "/", "+" or "#" above
# all) could widen that tree, so it is refused here.
printf '%s\n' "${MQTT_GATEWAY_ACCOUNTS:-}" | while IFS= read -r line; do
    line="$(printf '%s' "$line" | sed 's/^[[:space:]]*//;s/[[:space:]]*$//')"
    case "$line" in "" | "#"*) continue ;; esac
    case "$line" in *:*) ;; *) fail "MQTT_GATEWAY_ACCOUNTS line without ':' (want gateway_id:password)" ;; esac
    gateway_id="${line%%:*}"
    password="${line#*:}"
    printf '%s' "$gateway_id" | grep -Eq '^[a-z0-9][a-z0-9-]{2,63}$' \
        || fail "'$gateway_id' is not a gateway id ([a-z0-9][a-z0-9-]{2,63})"
    upsert "$gateway_id" "$password"
done

cp "$ACL_SOURCE" "$AUTH_DIR/acl"
chmod 0600 "$PASSWD_FILE" "$AUTH_DIR/acl"
# Mosquitto 2 warns about (and later versions refuse) auth files it does not own.
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
    chown mosquitto:mosquitto "$AUTH_DIR" "$PASSWD_FILE" "$AUTH_DIR/acl"
fi
echo "make-auth: wrote $PASSWD_FILE and $AUTH_DIR/acl"
