#!/usr/bin/env bash
# oha runs of the hot paths k6 covers (loadtest/k6/), one URL at a time: the cheapest way to see one
# path's throughput and latency without k6's own cost. `cargo install oha` if it is missing.
#
#   API_KEY=$(cat data/api-key) loadtest/oha.sh            # every path below, one after the other
#   API_KEY=... loadtest/oha.sh id latest                  # only these
#   BASE_URL=http://localhost:8000 DURATION=30s CONNECTIONS=50   (defaults)
#
# Paths: health (gateway + blog-service, no key, no cache), id / slug (one blog, Redis-cached),
# latest / tag (lists, the database), signin (bcrypt compare: CPU-bound; each sign-in also stores a
# keystore). id, slug and tag need a published blog: run k6 smoke.js or browse.js once before, their
# setup creates some.
set -euo pipefail

BASE_URL=${BASE_URL:-http://localhost:8000}
BASE_URL=${BASE_URL%/}
DURATION=${DURATION:-30s}
CONNECTIONS=${CONNECTIONS:-50}
: "${API_KEY:?set API_KEY: API_KEY=\$(cat data/api-key) $0 (compose: docker compose logs seed)}"
ADMIN_EMAIL=${ADMIN_EMAIL:-admin@afteracademy.com}
# The seeded admin's password: `cargo xtask up` keeps it in data/admin-password.
ADMIN_PASSWORD=${ADMIN_PASSWORD:-$(cat data/admin-password 2>/dev/null || true)}

command -v oha >/dev/null || { echo "oha is not installed: cargo install oha" >&2; exit 1; }

run() {
  local name=$1
  shift
  echo "== ${name}: oha -z ${DURATION} -c ${CONNECTIONS} $*"
  oha --no-tui -z "${DURATION}" -c "${CONNECTIONS}" "$@"
  echo
}

# The first published blog of the latest list: "field" of its JSON (_id, slug, or the first tag).
first_blog() {
  local field=$1 list
  list=$(curl -fsS -H "x-api-key: ${API_KEY}" "${BASE_URL}/blog/list/latest?page=1&limit=1")
  case "${field}" in
    tag) grep -o '"tags":\["[^"]*"' <<<"${list}" | head -n1 | sed 's/.*\["//; s/"$//' ;;
    *) grep -o "\"${field}\":\"[^\"]*\"" <<<"${list}" | head -n1 | sed 's/.*:"//; s/"$//' ;;
  esac
}

need_blog() {
  local value
  value=$(first_blog "$1")
  [ -n "${value}" ] || { echo "no published blog: run k6 smoke.js once first" >&2; exit 1; }
  printf '%s' "${value}"
}

key=(-H "x-api-key: ${API_KEY}")
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(health id slug latest tag signin)

for path in "${paths[@]}"; do
  case "${path}" in
    health) run health "${BASE_URL}/blog/health" ;;
    id)
      id=$(need_blog _id)
      run id "${key[@]}" "${BASE_URL}/blog/id/${id}"
      ;;
    slug)
      slug=$(need_blog slug)
      run slug "${key[@]}" "${BASE_URL}/blog/slug/${slug}"
      ;;
    latest) run latest "${key[@]}" "${BASE_URL}/blog/list/latest?page=1&limit=10" ;;
    tag)
      tag=$(need_blog tag)
      run tag "${key[@]}" "${BASE_URL}/blog/list/tag/${tag}?page=1&limit=10"
      ;;
    signin)
      [ -n "${ADMIN_PASSWORD}" ] || { echo "signin needs ADMIN_PASSWORD (data/admin-password under xtask up)" >&2; exit 2; }
      run signin "${key[@]}" -m POST -T application/json \
        -d "{\"email\":\"${ADMIN_EMAIL}\",\"password\":\"${ADMIN_PASSWORD}\"}" \
        "${BASE_URL}/auth/signin/basic"
      ;;
    *) echo "unknown path ${path}: health, id, slug, latest, tag, signin" >&2; exit 2 ;;
  esac
done
