# Shortcuts for ./run.sh, which installs what is missing and then runs the job.
.PHONY: demo test bench setup lint
demo:
	./run.sh demo
test:
	./run.sh test
bench:
	./run.sh bench
setup:
	./run.sh setup
lint: setup
	.venv/bin/ruff check intake tests
