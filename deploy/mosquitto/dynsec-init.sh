#!/bin/sh
# Creates the dynamic security plugin's file with the admin account, once (idempotent).
#
# Run by the one-shot `mosquitto-init` service of docker-compose.yml, in the
# eclipse-mosquitto image (for mosquitto_ctrl), before the broker starts. The file then
# holds only `hub_admin` (a salted PBKDF2-SHA512 hash of MQTT_ADMIN_PASSWORD) and
# deny-by-default access; `homevitals broker init` narrows the admin's role and adds the
# hub's accounts over the network once the broker runs. An existing file is left alone:
# it holds every enrolled gateway. Rotate the admin password with
# `homevitals broker set-password hub_admin`, not here (docs/deployment.md).
#
# Inputs:
#   MQTT_ADMIN_PASSWORD      the admin account's password
#   MOSQUITTO_DYNSEC_FILE    where the file lives   (/mosquitto/dynsec/dynamic-security.json)
#   HOMEVITALS_ENVIRONMENT   "production" refuses published default and short passwords
set -eu

DYNSEC_FILE="${MOSQUITTO_DYNSEC_FILE:-/mosquitto/dynsec/dynamic-security.json}"
ENVIRONMENT="${HOMEVITALS_ENVIRONMENT:-production}"
ADMIN_USER=hub_admin
# Same list as homevitals.settings.KNOWN_DEFAULT_SECRETS (a test keeps them equal).
KNOWN_DEFAULT_SECRETS=" changeme change-me secret homevitals dev-secret "
MIN_PRODUCTION_LENGTH=16

fail() {
    echo "dynsec-init: $*" >&2
    exit 1
}

if [ -s "$DYNSEC_FILE" ]; then
    echo "dynsec-init: $DYNSEC_FILE exists; accounts are managed by homevitals broker (left alone)"
    exit 0
fi

PASSWORD="${MQTT_ADMIN_PASSWORD:-}"
[ -n "$PASSWORD" ] || fail "MQTT_ADMIN_PASSWORD is not set; see .env.example"
if [ "$ENVIRONMENT" = "production" ]; then
    case "$KNOWN_DEFAULT_SECRETS" in
        *" $PASSWORD "*) fail "MQTT_ADMIN_PASSWORD is a published default; set a unique secret" ;;
    esac
    [ "${#PASSWORD}" -ge "$MIN_PRODUCTION_LENGTH" ] \
        || fail "MQTT_ADMIN_PASSWORD is shorter than $MIN_PRODUCTION_LENGTH characters"
fi

mkdir -p "$(dirname "$DYNSEC_FILE")"
umask 077  # password hashes: readable by the broker user only
mosquitto_ctrl dynsec init "$DYNSEC_FILE" "$ADMIN_USER" "$PASSWORD" > /dev/null
# The plugin rewrites the file on every change, as the broker user.
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
    chown mosquitto:mosquitto "$(dirname "$DYNSEC_FILE")" "$DYNSEC_FILE"
fi
echo "dynsec-init: wrote $DYNSEC_FILE with the admin account $ADMIN_USER"
