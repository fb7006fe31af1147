# The two quick-start commands: `make quickstart` and `make test`. Each sets up .venv first.
.PHONY: quickstart test setup slow lint lock

setup:
	@bash scripts/setup.sh

quickstart: setup
	.venv/bin/workbench run studies/quickstart.py --workers 2
	.venv/bin/workbench dashboard runs

test: setup
	bash scripts/test.sh

slow: setup
	.venv/bin/python -m pytest -m slow

lint: setup
	.venv/bin/ruff check workbench problems tests studies dashboards benchmarks

lock: setup
	bash scripts/lock.sh
