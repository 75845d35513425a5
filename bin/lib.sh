# Shared by bin/start and bin/test: make this machine able to run Trust Center.
# Debian 12 with Python 3.11 as root is the target; nothing needs installing by hand first.

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$PROJECT_DIR/.venv"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=""
apt_install() {
  # apt_install COMMAND PACKAGE...: installs the packages when COMMAND is missing.
  local command="$1"; shift
  command -v "$command" >/dev/null 2>&1 && return 0
  say "installing $* (apt)"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_python_env() {
  apt_install msgfmt gettext
  local python="${PYTHON:-python3}"
  # A venv without pip is what a failed attempt leaves behind: start again.
  if [ ! -x "$VENV/bin/pip" ]; then
    say "creating the virtual environment in .venv"
    rm -rf "$VENV"
    if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
      # Debian's python3 keeps venv and ensurepip in a package of their own.
      say "installing python3-venv (apt)"
      if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    "$python" -m venv "$VENV"
  fi
  local stamp="$VENV/.requirements.sha256"
  local wanted; wanted="$(sha256sum "$PROJECT_DIR/requirements-dev.lock" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    say "installing Python packages from requirements-dev.lock"
    # pip's notices go to a log, shown only when the install fails.
    if ! "$VENV/bin/pip" install -q --disable-pip-version-check -r "$PROJECT_DIR/requirements-dev.lock" \
      >"$VENV/pip-install.log" 2>&1; then
      cat "$VENV/pip-install.log" >&2
      say "installing Python packages failed (log: $VENV/pip-install.log)"
      return 1
    fi
    echo "$wanted" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
  (cd "$PROJECT_DIR" && python manage.py compilemessages --ignore=.venv -v 0)
}

ensure_postgres() {
  apt_install pg_ctlcluster postgresql
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "starting PostgreSQL"
    local version; version="$(ls /etc/postgresql | sort -n | tail -1)"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  # A fresh Debian cluster asks for a password over TCP: give postgres the one DATABASE_URL uses.
  if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    as_root su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\""
  fi
}

ensure_redis() {
  apt_install redis-server redis-server
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    say "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
}

ensure_chromium() {
  apt_install chromium chromium
}

# Registers kept in other databases (registers.external) are tested against a real MariaDB and a
# second PostgreSQL database: a database and a user of the tests' own on each.
EXTERNAL_MARIADB_URL="mysql+pymysql://trustcenter:trustcenter@127.0.0.1:3306/trustcenter_external"
EXTERNAL_POSTGRES_URL="postgresql+psycopg2://postgres:postgres@127.0.0.1:5432/trustcenter_external"

ensure_mariadb() {
  apt_install mariadbd mariadb-server
  if ! mysqladmin ping >/dev/null 2>&1; then
    say "starting MariaDB"
    as_root mkdir -p /run/mysqld && as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
    (as_root mysqld_safe >/dev/null 2>&1 &)
    for _ in $(seq 30); do mysqladmin ping >/dev/null 2>&1 && break; sleep 1; done
  fi
  as_root mysql -e "CREATE DATABASE IF NOT EXISTS trustcenter_external CHARACTER SET utf8mb4;
    CREATE USER IF NOT EXISTS 'trustcenter'@'127.0.0.1' IDENTIFIED BY 'trustcenter';
    CREATE USER IF NOT EXISTS 'trustcenter'@'localhost' IDENTIFIED BY 'trustcenter';
    GRANT ALL ON trustcenter_external.* TO 'trustcenter'@'127.0.0.1';
    GRANT ALL ON trustcenter_external.* TO 'trustcenter'@'localhost';"
}

ensure_external_postgres() {
  if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -Atqc \
      "select 1 from pg_database where datname = 'trustcenter_external'" | grep -q 1; then
    PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE trustcenter_external"
  fi
}
