# Sourced by bin/mvn and bin/realm: sets REALM_JDK to a JDK or runtime of version 25 or later.
# Looks at $JAVA_HOME, then /usr/lib/jvm/temurin-25*, then a bundled runtime, then `java` on the PATH.
_realm_java_ok() { # $1 = java home; true when its java reports major version >= 25
  [ -x "$1/bin/java" ] || return 1
  local v
  v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null
}
REALM_JDK=""
for _c in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-2[5-9]* "$(dirname "${BASH_SOURCE[0]}")/../runtime"; do
  if [ -n "$_c" ] && _realm_java_ok "$_c"; then REALM_JDK="$_c"; break; fi
done
if [ -z "$REALM_JDK" ] && command -v java >/dev/null; then
  _c="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
  _realm_java_ok "$_c" && REALM_JDK="$_c"
fi
if [ -z "$REALM_JDK" ]; then
  echo "realm: no JDK 25 found (tried \$JAVA_HOME, /usr/lib/jvm/temurin-25*, java on PATH); install Temurin 25 or set JAVA_HOME" >&2
  exit 2
fi
