#!/usr/bin/env sh
# Print the path of a Python 3.10 interpreter (Rasa 3.6 needs 3.10), or explain what to install.
# Order: $PYTHON310, python3.10 on PATH, then pyenv's 3.10.x versions.
is_310() { "$@" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }

if [ -n "${PYTHON310:-}" ] && is_310 "$PYTHON310"; then echo "$PYTHON310"; exit 0; fi
if command -v python3.10 >/dev/null 2>&1 && is_310 python3.10; then
  python3.10 -c 'import sys; print(sys.executable)'; exit 0
fi
if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -t. -k3 -n -r); do
    candidate="$(pyenv root)/versions/$version/bin/python3.10"
    if [ -x "$candidate" ] && is_310 "$candidate"; then echo "$candidate"; exit 0; fi
  done
fi
cat >&2 <<'MSG'
No Python 3.10 interpreter found (Rasa 3.6 requires Python 3.10).
Install one, for example:
  pyenv install 3.10.13            (then run make again)
  apt-get install python3.10 python3.10-venv   (where your distribution ships it)
or point PYTHON310 at an interpreter:  make run PYTHON310=/path/to/python3.10
MSG
exit 1
