#!/usr/bin/env python3
"""asyncio's side of bench/aio_bench.cpp: the same programs as sluice::aio's, timed from inside.

  aio_peer.py spawn N            spawn + await N x /bin/true one after another; prints seconds per spawn
  aio_peer.py sleepers N SECS    N concurrent `sleep SECS` children; prints wall seconds and peak RSS (KiB)
  aio_peer.py pingpong N         N round trips between two tasks over two asyncio.Queue(1); prints seconds per trip

Start-up is not timed. Each mode uses the default event loop and child watcher of this Python (3.11 on
Debian 12: ThreadedChildWatcher, one thread per child).
"""
import asyncio
import resource
import sys
import time


async def spawn(n):
    p = await asyncio.create_subprocess_exec("/bin/true")  # warm-up, not timed
    await p.wait()
    t = time.perf_counter()
    for _ in range(n):
        p = await asyncio.create_subprocess_exec("/bin/true")
        if await p.wait() != 0:
            raise SystemExit("/bin/true failed")
    print((time.perf_counter() - t) / n)


async def sleepers(n, secs):
    async def one():
        p = await asyncio.create_subprocess_exec("sleep", secs)
        return await p.wait()

    t = time.perf_counter()
    codes = await asyncio.gather(*(one() for _ in range(n)))
    wall = time.perf_counter() - t
    if any(c != 0 for c in codes):
        raise SystemExit("a sleep child failed")
    print(wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


async def pingpong(n):
    a, b = asyncio.Queue(1), asyncio.Queue(1)

    async def ping():
        for i in range(n):
            await a.put(i)
            await b.get()

    async def pong():
        for _ in range(n):
            await b.put(await a.get())

    t = time.perf_counter()
    await asyncio.gather(ping(), pong())
    print((time.perf_counter() - t) / n)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    mode = sys.argv[1]
    if mode == "spawn":
        asyncio.run(spawn(int(sys.argv[2])))
    elif mode == "sleepers":
        asyncio.run(sleepers(int(sys.argv[2]), sys.argv[3]))
    elif mode == "pingpong":
        asyncio.run(pingpong(int(sys.argv[2])))
    else:
        raise SystemExit("aio_peer.py: unknown mode " + mode)


if __name__ == "__main__":
    main()
