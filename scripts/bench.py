#!/usr/bin/env python3
"""The Python the benchmark scripts share: each function reads what a script's runs wrote (reports,
summaries) and prints its figures. `python3 scripts/bench.py NAME ARGS...` calls function NAME."""
import collections
import glob
import json
import socket
import statistics
import sys
import urllib.parse
import urllib.request


def capacity_cpu(runs, cores):
    """Each capacity run's CPU per event and the rate 2 cores allow at that cost."""
    rows = []
    for path in glob.glob(f"{runs}/**/report.json", recursive=True):
        r = json.load(open(path))
        cpu, events = r["cpu_s"], r["events"]["processed"]
        total = cpu["job"] + cpu["producers"] + cpu["harness"] + (cpu["broker"] or 0)
        v = cpu["verification"]
        p = r["configuration"]["producers"]
        elapsed = events / r["throughput"]
        rows.append((p["rate"] * p["count"], cpu, total, events, v["harness"] + (v["broker"] or 0),
                     elapsed))
    for rate, cpu, total, events, verifying, elapsed in sorted(rows, key=lambda row: row[0]):
        per_event = total / events
        print(f"   {rate:>9,} events/s: job {cpu['job']:.1f}  producers {cpu['producers']:.1f}  "
              f"harness {cpu['harness']:.1f}  broker {cpu['broker'] or 0:.1f}  = {total:.1f} s, "
              f"{per_event * 1e6:.2f} µs per event -> {int(cores) / per_event:,.0f} events/s; "
              f"{total / elapsed:.2f} cores over {elapsed:.1f} s; verification {verifying:.1f} s")


def producers_alone(out):
    """What two unpaced producers sent, from their summaries."""
    s = [json.loads(open(f"{out}/producer{i}.json").read().splitlines()[-1])["producer_summary"] for i in (0, 1)]
    events = sum(p["events"] for p in s)
    assert all(p["failed"] == 0 and p["delivered"] == p["events"] for p in s), s
    elapsed = max(p["elapsed_s"] for p in s)
    print(f"  {events:,} events in {elapsed:.2f} s: {events / elapsed:,.0f} events/s "
          f"(producers' CPU {sum(p['cpu_s'] for p in s):.1f} s)")


def pacing(runs):
    """CPU per event paced and unpaced, per rate: each run, then medians as a table."""
    rows = {}
    for line in open(runs):
        rate, mode, summary = line.split(" ", 2)
        s = json.loads(summary)["producer_summary"]
        if s["failed"] or s["delivered"] != s["events"]:
            sys.exit(f"{rate} {mode}: {s['failed']} failed, {s['delivered']} of {s['events']} delivered")
        us = 1e6 * s["cpu_s"] / s["events"]
        rows.setdefault((int(rate), mode), []).append((us, s["lag_p99_ms"], s["events"]))
        print(f"{rate:>7} events/s  {mode:<12} {s['events']:>9,} events  {us:5.2f} µs/event  lag p99 {s['lag_p99_ms']:.2f} ms")
    print()
    print("| events/s | paced, every event | paced, 2 ms tick | unpaced | every event / unpaced | tick / unpaced | lag p99, every event | lag p99, tick |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for rate in sorted({r for r, _ in rows}):
        med = {m: statistics.median(u for u, _, _ in rows[(rate, m)]) for m in ("every-event", "tick-2ms", "unpaced")}
        lag = {m: statistics.median(l for _, l, _ in rows[(rate, m)]) for m in ("every-event", "tick-2ms")}
        print(f"| {rate:,} | {med['every-event']:.2f} µs | {med['tick-2ms']:.2f} µs | {med['unpaced']:.2f} µs "
              f"| {med['every-event'] / med['unpaced']:.2f} | {med['tick-2ms'] / med['unpaced']:.2f} "
              f"| {lag['every-event']:.2f} ms | {lag['tick-2ms']:.2f} ms |")


def windows(report, i):
    """Each window's latency and its parts, from a run's report."""
    r = json.load(open(report))
    for w in r["windows"]:
        print(f"  [{i}] window {w['window_id']}: end to end max {w['max_latency_ms']} ms, after window end {w['max_event_time_latency_ms']} ms, broker delivery p90 {w['broker_delay_p90_ms']:.1f} ms, job added {w.get('job_added_ms')} ms")


def prometheus(port, start, end, report):
    """What Prometheus scraped during a seed run, asked through its HTTP API, beside the run's report."""
    start, end = int(start), int(end)
    span = f"{end - start}s"
    mid = start + (end - start) // 2

    def query(port, q, at):
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q, "time": at})
        answer = json.load(urllib.request.urlopen(url))
        assert answer["status"] == "success", answer
        return [(r["metric"], float(r["value"][1])) for r in answer["data"]["result"]]

    def one(q, at):
        values = query(port, q, at)
        return values[0][1] if values else float("nan")

    r = json.load(open(report))
    targets = query(port, f"max_over_time(up[{span}])", end)
    print(f"  targets scraped: {len(targets)}, all up: {all(v == 1 for _, v in targets)}")
    print(f"  processed rate mid-run (rate over 10 s): {one('sum(rate(adstream_job_events_processed_total[10s]))', mid):,.0f} events/s")
    print(f"  sent rate mid-run: {one('sum(rate(adstream_producer_events_sent_total[10s]))', mid):,.0f} events/s")
    print(f"  consumer lag: max over the run {one(f'max(max_over_time(adstream_job_consumer_lag[{span}]))', end):.0f} records, "
          f"last {one('sum(last_over_time(adstream_job_consumer_lag[10s]))', end):.0f}")
    print(f"  event-time lag: max over the run {one(f'max(max_over_time(adstream_job_event_time_lag_seconds[{span}]))', end) * 1000:.0f} ms")
    p90 = one(f"histogram_quantile(0.9, sum by (le) (increase(adstream_job_result_latency_seconds_bucket[{span}])))", end)
    print(f"  result latency p90 (histogram buckets): {p90 * 1000:.0f} ms; the report's end-to-end p90: {r['latency_ms']['p90']:.0f} ms")
    final = one("sum(last_over_time(adstream_job_events_processed_total[10s]))", end)
    print(f"  processed, last scraped: {final:,.0f}; the report's: {r['events']['processed']:,}; equal: {final == r['events']['processed']}")


def run_line(report, label):
    """One run's figures on a line — CPU, end-to-end latency, exactness — and, when the run met faults,
    each fault's recovery and the latency of the windows that spanned it."""
    r = json.load(open(report))
    l, c = r["latency_ms"], r["cpu_s"]
    print(f"  {label}: job CPU {c['job']:.2f} s, producers {c['producers']:.2f} s, harness {c['harness']:.2f} s, end to end p50 {l['p50']:.0f} "
          f"p90 {l['p90']:.0f} p99 {l['p99']:.0f} ms, exact {r['verification']['exact']}, {r['events']['processed']} events")
    for f in r.get("faults", []):
        up, back = f["caught_up_at_s"], f.get("restarted_at_s") or f.get("resumed_at_s")
        up_text = f"{up:.2f} s: fault to caught up {up - f['failed_at_s']:.2f} s" if up is not None else "never"
        back_text = f"back at {back:.2f} s" if back is not None else "nothing restarted"
        print(f"  {label}: {f['target']} {f['cause']} at {f['failed_at_s']:.2f} s, {back_text}, caught up at {up_text}, "
              f"{f['events_reread']} records read again")
    for w in r["windows"]:
        if w.get("disturbed"):
            print(f"  {label}: window {w['window_id']} spanned the fault: max latency {w['max_latency_ms']} ms, avg {w['avg_latency_ms']:.1f} ms")
    if r.get("latency_undisturbed_ms"):
        u, d = r["latency_undisturbed_ms"], r["latency_disturbed_ms"]
        print(f"  {label}: undisturbed windows p90 {u['p90']:.0f} max {u['max']:.0f} ms; spanning the fault p90 {d['p90']:.0f} max {d['max']:.0f} ms")
    if r.get("revisions"):
        v, f = r["revisions"], r["revisions"]["freshness_ms"]
        print(f"  {label}: {v['records']} records, {v['per_result_mean']:.1f} per (window, campaign); "
              f"freshness p50 {f['p50']:.0f} p90 {f['p90']:.0f} p99 {f['p99']:.0f} ms")


def partitions_line(report, label, broker_ms):
    """One run of the partitions benchmark on a line: end-to-end p50/p90/max, each window's largest
    latency, and the broker's CPU per event."""
    r = json.load(open(report))
    l, events = r["latency_ms"], r["events"]["processed"]
    maxima = " ".join(str(w["max_latency_ms"]) for w in r["windows"])
    print(f"  {label}: end to end p50 {l['p50']:.0f} p90 {l['p90']:.0f} max {l['max']:.0f} ms, windows' max [{maxima}] ms, "
          f"broker CPU {int(broker_ms) / 1000:.2f} s = {int(broker_ms) * 1000 / events:.2f} µs/event, exact {r['verification']['exact']}, "
          f"{events} events")


def requests_line(report, tapped_report, requests, label):
    """One build's round of the broker-work benchmark on a line: the broker's CPU per event and the
    end-to-end latency of the run on the harness's broker, and the requests per second by API (all
    clients) of the run through the counting relay."""
    r = json.load(open(report))
    events, broker_s, l = r["events"]["processed"], r["cpu_s"]["broker"], r["latency_ms"]
    t = json.load(open(tapped_report))
    seconds = t["events"]["processed"] / t["throughput"]
    by_api = collections.Counter()
    for apis in json.load(open(requests)).values():
        by_api.update(apis)
    # Fetches name their first topic (by id, with how many of its partitions); the events topic is the
    # one fetched most, the job's reader fetches all its partitions, the broker probe one.
    fetches = {k: n for k, n in by_api.items() if k.startswith("Fetch")}
    topic_of = lambda k: k.split(" (")[0]
    per_topic = collections.Counter()
    for k, n in fetches.items():
        per_topic[topic_of(k)] += n
    events_topic = per_topic.most_common(1)[0][0] if per_topic else None
    probe = sum(n for k, n in fetches.items() if topic_of(k) == events_topic and k.endswith("(1 partition)"))
    job = per_topic[events_topic] - probe
    others = sum(fetches.values()) - per_topic[events_topic]
    rest = sum(n for k, n in by_api.items() if not k.startswith("Fetch") and k != "Produce")
    rates = (f"Fetch: events by the job {job / seconds:.0f}/s, by the probe {probe / seconds:.0f}/s, other topics "
             f"{others / seconds:.0f}/s; Produce {by_api['Produce'] / seconds:.0f}/s; other requests {rest / seconds:.0f}/s")
    print(f"  {label}: broker CPU {broker_s:.2f} s = {broker_s * 1e6 / events:.2f} µs/event, end to end p50 {l['p50']:.0f} "
          f"p90 {l['p90']:.0f} ms, exact {r['verification']['exact']}; through the relay: {rates}")


def free_port():
    """A TCP port free on the loopback now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
