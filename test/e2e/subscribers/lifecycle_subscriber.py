"""A service outside Orbit following its lifecycle topics with Confluent's own
Python client: it knows the broker, the schema registry and the topic names,
and nothing else of Orbit's code. Prints the events of one request as JSON
lines; exits 0 after --count of them, 1 when they do not come in time."""
import argparse
import json
import os
import sys
import threading
import time
from collections import Counter

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

parser = argparse.ArgumentParser()
parser.add_argument("--bootstrap", required=True)
parser.add_argument("--registry", required=True)
parser.add_argument("--group", required=True)
parser.add_argument("--request", required=True, help="the request whose events to print (their correlationId)")
parser.add_argument("--count", type=int, required=True)
parser.add_argument("--timeout", type=float, default=60)
parser.add_argument("--sasl-ssl", nargs=3, metavar=("CA_FILE", "USER", "PASSWORD"),
                    help="reach the broker's SASL_SSL listener as this PLAIN user, trusting this CA")
parser.add_argument("topics", nargs="+")
args = parser.parse_args()
security = {} if args.sasl_ssl is None else {
    "security.protocol": "SASL_SSL",
    "ssl.ca.location": args.sasl_ssl[0],
    "sasl.mechanisms": "PLAIN",
    "sasl.username": args.sasl_ssl[1],
    "sasl.password": args.sasl_ssl[2],
}

# Bounded, so a registry that hangs fails the run with a reason instead of stalling it.
deserialize = AvroDeserializer(SchemaRegistryClient({"url": args.registry, "timeout": 10}))
consumer = Consumer({
    "bootstrap.servers": args.bootstrap,
    "group.id": args.group,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    **security,
})
consumer.subscribe(args.topics)
seen = 0
read = Counter()
deadline = time.monotonic() + args.timeout
try:
    while seen < args.count and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is None:
            continue
        if message.error():
            print(f"error: {message.error()}", file=sys.stderr)
            continue
        read[message.topic()] += 1
        event = deserialize(message.value(), SerializationContext(message.topic(), MessageField.VALUE))
        if event.get("correlationId") != args.request:
            continue
        print(json.dumps({"topic": message.topic(), "key": message.key().decode(), "event": event}, default=str), flush=True)
        seen += 1
finally:
    if seen < args.count:
        print(f"saw {seen} of {args.count} events of {args.request} after reading {dict(read)}", file=sys.stderr, flush=True)
    # Leaving the group is a courtesy: a close that does not return must not hold the run (the broker expires the member).
    closing = threading.Thread(target=consumer.close, daemon=True)
    closing.start()
    closing.join(10)
    sys.stdout.flush()
    os._exit(0 if seen >= args.count else 1)
