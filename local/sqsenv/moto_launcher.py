# Starts moto_server with two O(n) helpers of moto's SQS backend replaced by
# O(1) equivalents, so that a queue holding 10,000 messages can be drained in
# minutes instead of hours. Semantics are unchanged:
#  - is_message_valid_based_on_retention_period recomputed every queue
#    attribute (counting all messages, twice) for each message received;
#    here it reads the queue's retention period directly.
#  - the module clock built datetimes to get the epoch time; here it is
#    time.time() (moto's own helpers are still used when given a datetime).
#  - the queue's message counts (computed for every SendMessage, because it
#    reads one attribute from the full attribute map) read the clock once per
#    count instead of twice per message.
# When moto's internals differ from what this expects, moto runs unpatched
# and says so on stderr.
import sys
import time

try:
    import moto.sqs.models as models

    _unix_time = models.unix_time
    _unix_time_millis = models.unix_time_millis

    def unix_time(dt=None):
        return time.time() if dt is None else _unix_time(dt)

    def unix_time_millis(dt=None):
        return time.time() * 1000.0 if dt is None else _unix_time_millis(dt)

    def is_message_valid_based_on_retention_period(self, queue_name, message):
        queue = self.get_queue(queue_name)
        retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
        return retain_until > time.time()

    def visible_messages(self):
        now = time.time() * 1000.0
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def not_visible_count(self):
        now = time.time() * 1000.0
        return sum(1 for m in self._messages if not now > m.visible_at)

    def delayed_count(self):
        now = time.time() * 1000.0
        return sum(1 for m in self._messages if now < m.delayed_until)

    for name in ("messages", "approximate_number_of_messages_not_visible", "approximate_number_of_messages_delayed"):
        if not isinstance(getattr(models.Queue, name, None), property):
            raise AttributeError(f"Queue.{name}")
    for name in ("visible_at", "delayed_until", "sent_timestamp"):
        if name not in models.Message.__init__.__code__.co_names and name not in dir(models.Message):
            raise AttributeError(f"Message.{name}")
    if not hasattr(models.SQSBackend, "is_message_valid_based_on_retention_period"):
        raise AttributeError("SQSBackend.is_message_valid_based_on_retention_period")
    models.unix_time = unix_time
    models.unix_time_millis = unix_time_millis
    models.SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
    models.Queue.messages = property(visible_messages)
    models.Queue.approximate_number_of_messages_not_visible = property(not_visible_count)
    models.Queue.approximate_number_of_messages_delayed = property(delayed_count)
except Exception as err:  # noqa: BLE001 - any mismatch means: run moto as is
    print(f"sluice moto launcher: running moto unpatched ({err!r})", file=sys.stderr)

from moto.server import main  # noqa: E402

main(sys.argv[1:])
