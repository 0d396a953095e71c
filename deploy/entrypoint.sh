#!/bin/sh
# Entrypoint of the Small Favor image: one image, every process (docs/DEPLOY.md).
#
#   web [GUNICORN ARGS]   (default) migrate unless MIGRATE_ON_START=0, then exec gunicorn
#   flusher [ARGS]        exec smallfavor flush ARGS
#   scheduler [ARGS]      exec smallfavor schedule ARGS
#   migrate [ARGS]        smallfavor migrate ARGS, with the bounded retry below
#   export ARGS           exec smallfavor export ARGS
#   anything else         exec'd as given: smallfavor tokens create ..., python, sh
#
# MIGRATE_ATTEMPTS (30) and MIGRATE_RETRY_SECONDS (1, doubling up to 10) bound the retry, so
# a database that is still starting delays the process instead of failing it, and one that
# never comes fails it after about four and a half minutes.
set -eu

GUNICORN_CONF="${GUNICORN_CONF:-/app/deploy/gunicorn.conf.py}"

log() {
    printf 'entrypoint: %s\n' "$*" >&2
}

# As PID 1 the shell ignores SIGTERM unless it traps it; `sleep & wait` lets the trap run at
# once instead of after the sleep.
trap 'exit 143' TERM
trap 'exit 130' INT

migrate_with_retry() {
    attempts="${MIGRATE_ATTEMPTS:-30}"
    delay="${MIGRATE_RETRY_SECONDS:-1}"
    attempt=1
    until smallfavor migrate "$@"; do
        if [ "$attempt" -ge "$attempts" ]; then
            log "migration failed $attempt times; giving up"
            return 1
        fi
        log "migration attempt $attempt of $attempts failed; next in ${delay}s"
        sleep "$delay" &
        wait "$!"
        attempt=$((attempt + 1))
        delay=$((delay * 2))
        if [ "$delay" -gt 10 ]; then
            delay=10
        fi
    done
}

# gunicorn.conf.py sizes its workers from os.cpu_count(), which counts the node's CPUs, not
# the container's CPU limit. Without WEB_CONCURRENCY, take the limit from cgroup v2 (+1,
# gunicorn.conf.py's rule) when there is one.
cpu_limit() {
    cpu_max="${CGROUP_CPU_MAX:-/sys/fs/cgroup/cpu.max}"
    [ -r "$cpu_max" ] || return 0
    read -r quota period <"$cpu_max" || return 0
    case "$quota$period" in
        '' | *[!0-9]*) return 0 ;; # "max 100000": no limit
    esac
    [ "$period" -gt 0 ] || return 0
    echo $(((quota + period - 1) / period))
}

if [ "$#" -eq 0 ]; then
    set -- web
fi

case "$1" in
    web)
        shift
        if [ "${MIGRATE_ON_START:-1}" != 0 ]; then
            migrate_with_retry
        fi
        if [ -z "${WEB_CONCURRENCY:-}" ]; then
            cpus="$(cpu_limit)"
            if [ -n "$cpus" ]; then
                WEB_CONCURRENCY=$((cpus + 1))
                export WEB_CONCURRENCY
            fi
        fi
        exec gunicorn -c "$GUNICORN_CONF" "$@" 'service:create_app()'
        ;;
    flusher)
        shift
        exec smallfavor flush "$@"
        ;;
    scheduler)
        shift
        exec smallfavor schedule "$@"
        ;;
    migrate)
        shift
        migrate_with_retry "$@"
        ;;
    export)
        shift
        exec smallfavor export "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
