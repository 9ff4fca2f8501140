# cityops — the two commands of the README are `make run` and `make test`.
# Ports of the local stack (override on the command line: make up KAFKA_PORT=29092).
CH_HTTP_PORT ?= 18123
CH_TCP_PORT ?= 19000
KAFKA_PORT ?= 19092
export CH_HTTP_PORT CH_TCP_PORT KAFKA_PORT

# What the tests and `make run` connect to.
export CITYOPS_KAFKA__BROKERS ?= 127.0.0.1:$(KAFKA_PORT)
export CITYOPS_CLICKHOUSE__URL ?= http://127.0.0.1:$(CH_HTTP_PORT)

CARGO ?= cargo
STACK := deploy/local/stack.sh

.PHONY: setup up down status run test test-unit lint fmt bench clean-var

## setup: install what the stack and the tests need (idempotent)
setup:
	@$(STACK) setup

## up: start ClickHouse and Tansu on 127.0.0.1 (no-op when they run)
up:
	@$(STACK) up

## down: stop exactly the processes `make up` started
down:
	@$(STACK) down

status:
	@$(STACK) status

## run: set up, start the stack and the platform, and play a simulated day into it (Ctrl-C stops)
run: setup
	@deploy/local/run.sh

## lint: formatting and clippy, as CI runs them
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## test: setup, up, lint, then every unit and integration test against the real stack
test: setup up lint
	$(CARGO) test --workspace --locked --no-fail-fast

## test-unit: the tests that need no server
test-unit:
	$(CARGO) test --workspace --locked --lib

fmt:
	$(CARGO) fmt --all

# Where cargo puts what it builds (CARGO_TARGET_DIR is honoured).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)

## bench: speed and memory as ratios against baselines run side by side
bench: setup up
	@mkdir -p target/bench && touch target/bench/.started
	$(CARGO) bench --workspace --locked --bench '*' -- --warm-up-time 1 --measurement-time 3
	$(CARGO) build --release --locked -p cityops-cli -p cityops-bench
	$(TARGET_DIR)/release/cityops-bench run --cityops $(TARGET_DIR)/release/cityops \
	  --criterion-dir $(TARGET_DIR)/criterion --criterion-since target/bench/.started \
	  --out target/bench/report.md

clean-var: down
	rm -rf var
