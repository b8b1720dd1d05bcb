"""A service outside Orbit following its lifecycle topics with Confluent's own
Python client: it knows the broker, the schema registry and the topic names,
and nothing else of Orbit's code. Prints the events of one request as JSON
lines; exits 0 after --count of them, 1 when they do not come in time."""
import argparse
import json
import sys
import time

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
parser.add_argument("topics", nargs="+")
args = parser.parse_args()

deserialize = AvroDeserializer(SchemaRegistryClient({"url": args.registry}))
consumer = Consumer({
    "bootstrap.servers": args.bootstrap,
    "group.id": args.group,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
})
consumer.subscribe(args.topics)
seen = 0
deadline = time.monotonic() + args.timeout
try:
    while seen < args.count and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is None:
            continue
        if message.error():
            print(f"error: {message.error()}", file=sys.stderr)
            continue
        event = deserialize(message.value(), SerializationContext(message.topic(), MessageField.VALUE))
        if event.get("correlationId") != args.request:
            continue
        print(json.dumps({"topic": message.topic(), "key": message.key().decode(), "event": event}, default=str), flush=True)
        seen += 1
finally:
    consumer.close()
sys.exit(0 if seen >= args.count else 1)
