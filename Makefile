# The two commands a new user needs: `make dev` (run locally) and `make test` (every test).
.PHONY: setup dev test build fmt lint bench
setup:
	bash scripts/setup.sh
dev: setup
	bash scripts/dev.sh
test: setup
	bash scripts/test.sh
build: setup
	bash scripts/build.sh
fmt:
	cargo fmt --all
lint:
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --all-targets --target wasm32-unknown-unknown -- -D warnings
bench: setup
	bash scripts/bench.sh
