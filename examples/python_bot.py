#!/usr/bin/env python3
"""A QRaft bot in Python, standard library only.

It starts `qraft session --jsonl` as a child process and talks to it one JSON object per
line: commands on the child's stdin, results and events on its stdout (see
docs/session.md). It subscribes to trades, looks at the book, places a few orders around
the mid price, prints what happened and the trades it hears of, then cancels what is
left resting and ends the session.

    qraft init /tmp/game
    qraft run --headless --config /tmp/game/node1.toml     # and node2, node3
    python3 examples/python_bot.py --genesis /tmp/game/genesis.toml \\
        --key /tmp/game/keys/bot2.key --symbol ACME

The qraft executable is $QRAFT_BIN if set, else `qraft` on the PATH. An encrypted key
takes its passphrase from $QRAFT_PASSPHRASE, which the child inherits.

Prices in commands are dollars as text ("12.50"); results and events carry both dollars
("price") and ticks ("price_ticks"). Money is handled as integers here, never floats.
"""

import argparse
import itertools
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time


class SessionError(Exception):
    """The session refused a command, or ended."""


class Session:
    """A `qraft session --jsonl` child: send commands, wait for their results."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,  # line buffered
        )
        self.lines = queue.Queue()
        self.ids = itertools.count(1)
        self.pending_events = []
        reader = threading.Thread(target=self._read, daemon=True)
        reader.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                self.lines.put(json.loads(line))
            except json.JSONDecodeError:
                print(f"(not JSON from the session: {line!r})", file=sys.stderr)
        self.lines.put(None)  # end of output

    def _next(self, timeout):
        try:
            message = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if message is None:
            raise SessionError(f"the session ended (exit code {self.proc.wait()})")
        return message

    def wait_ready(self, timeout=60):
        """Waits for the session's {"event":"ready"} line; fails on an error line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._next(timeout=deadline - time.monotonic())
            if message is None:
                break
            if message.get("event") == "ready":
                return message
            if message.get("ok") is False:
                raise SessionError(message.get("error", "cannot connect"))
            self.pending_events.append(message)
        raise SessionError("the session did not get ready in time")

    def request(self, cmd, timeout=60, **fields):
        """Sends one command and returns its result (a dict with "ok": true).

        Events that arrive meanwhile are kept for `events()`. A result with "ok": false
        raises SessionError with the session's message and code.
        """
        command_id = next(self.ids)
        line = json.dumps({"id": command_id, "cmd": cmd, **fields})
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            message = self._next(timeout=max(remaining, 0)) if remaining > 0 else None
            if message is None:
                raise SessionError(f"no answer to {cmd} in {timeout} s")
            if message.get("id") == command_id:
                if not message.get("ok"):
                    code = message.get("code")
                    raise SessionError(f"{cmd} failed (code {code}): {message.get('error')}")
                return message
            self.pending_events.append(message)

    def events(self, seconds):
        """Yields events (and stray results) for `seconds`."""
        while self.pending_events:
            yield self.pending_events.pop(0)
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            message = self._next(timeout=remaining)
            if message is not None:
                yield message

    def close(self, timeout=30):
        """Ends input: the session finishes what is in flight and exits."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            return self.proc.wait()


def dollars(ticks, tick_size_cents):
    """Ticks as a dollar string, with integer arithmetic: 1250 ticks of 1 cent -> "12.50"."""
    cents = ticks * tick_size_cents
    return f"{cents // 100}.{cents % 100:02d}"


def mid_ticks(book):
    """The mid of the best bid and ask in ticks, or the one side, or the last trade."""
    bid = book["bids"][0]["price_ticks"] if book.get("bids") else None
    ask = book["asks"][0]["price_ticks"] if book.get("asks") else None
    if bid is not None and ask is not None:
        return (bid + ask) // 2
    return bid or ask or book.get("last_ticks")


def describe(result):
    order = result.get("order", {})
    fills = ", ".join(f"{f['quantity']} at {f['price']}" for f in order.get("fills", []))
    return (
        f"order #{order.get('id')} {order.get('side')} {order.get('quantity')} "
        f"{order.get('symbol')} ({order.get('type')} {order.get('limit')}): "
        f"{order.get('state')}, filled {order.get('filled')}, resting {order.get('resting')}"
        + (f" [{fills}]" if fills else "")
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--genesis", required=True, help="the game's genesis file")
    parser.add_argument("--key", required=True, help="this bot's key file")
    parser.add_argument("--node", action="append", default=[], metavar="ADDR",
                        help="a node, host:port (repeatable; default: every node)")
    parser.add_argument("--symbol", default="ACME", help="the symbol to trade")
    parser.add_argument("--size", type=int, default=5, help="shares per order")
    parser.add_argument("--listen", type=float, default=5.0, metavar="SECONDS",
                        help="how long to print trade events after ordering")
    args = parser.parse_args()

    qraft = os.environ.get("QRAFT_BIN") or shutil.which("qraft")
    if not qraft:
        sys.exit("cannot find qraft: put it on the PATH or set QRAFT_BIN")
    argv = [qraft, "session", "--jsonl", "--genesis", args.genesis, "--key", args.key]
    for node in args.node:
        argv += ["--node", node]

    session = Session(argv)
    try:
        ready = session.wait_ready()
        print(f"connected to {ready.get('game')} through {ready.get('node')} as {ready.get('key')}")

        session.request("subscribe", trades=True, fills=True)
        book = session.request("book", symbol=args.symbol, levels=5)
        tick = book.get("tick_size_cents") or 1
        mid = mid_ticks(book)
        if mid is None:
            sys.exit(f"{args.symbol} has no orders and no trades yet: no price to trade around")
        print(f"{args.symbol}: mid {dollars(mid, tick)}, last {book.get('last')}, "
              f"{len(book.get('bids', []))} bid and {len(book.get('asks', []))} ask levels")

        orders = [
            # A bid and an offer two ticks either side of the mid: they rest.
            dict(side="buy", limit=dollars(max(mid - 2, 1), tick)),
            dict(side="sell", limit=dollars(mid + 2, tick)),
        ]
        # Take the best offer, if any, with an immediate-or-cancel order.
        if book.get("asks"):
            orders.append(dict(side="buy", limit=book["asks"][0]["price"], ioc=True))
        for order in orders:
            try:
                result = session.request("order", symbol=args.symbol, qty=args.size, **order)
                print(describe(result))
            except SessionError as err:
                print(f"order {order}: {err}")

        print(f"listening for {args.listen:g} s ...")
        for message in session.events(args.listen):
            event = message.get("event")
            if event == "trade" and message.get("symbol") == args.symbol:
                print(f"trade: {message['quantity']} {message['symbol']} at {message['price']} "
                      f"({message['aggressor']} side took it)")
            elif event == "fill":
                print(f"my fill: {message['side']} {message['quantity']} {message['symbol']} "
                      f"at {message['price']} (order #{message['order']})")
            elif event == "closed":
                print(f"subscription closed: {message.get('error')}")

        try:
            cancelled = session.request("cancel", all=True, symbol=args.symbol)
            print(f"cancelled {len(cancelled.get('cancelled', []))} resting orders")
        except SessionError as err:  # nothing left to cancel, for one
            print(f"cancel: {err}")
    except SessionError as err:
        print(f"error: {err}", file=sys.stderr)
        session.close()
        sys.exit(1)
    sys.exit(session.close())


if __name__ == "__main__":
    main()
