# Starts moto_server with two O(n) helpers of moto's SQS backend replaced by
# O(1) equivalents, so that a queue holding 10,000 messages can be drained in
# minutes instead of hours. Semantics are unchanged:
#  - is_message_valid_based_on_retention_period recomputed every queue
#    attribute (counting all messages, twice) for each message received;
#    here it reads the queue's retention period directly.
#  - the module clock built datetimes to get the epoch time; here it is
#    time.time() (moto's own helpers are still used when given a datetime).
#  - the queue's message counts read the clock once per count instead of
#    twice per message; and SendMessage, which builds the full attribute map
#    only to read ContentBasedDeduplication, skips the three counts in it.
#  - DeleteMessage scanned the queue twice, building a list per message; here
#    it scans once and stops at the message.
# When moto's internals differ from what this expects, moto runs unpatched
# and says so on stderr.
import sys
import threading
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

    counting = threading.local()

    def skipped_while_sending(count):
        def wrapped(self):
            return 0 if getattr(counting, "skip", False) else count(self)

        return wrapped

    _send_message = models.SQSBackend.send_message

    def send_message(self, *args, **kwargs):
        counting.skip = True
        try:
            return _send_message(self, *args, **kwargs)
        finally:
            counting.skip = False

    def delete_message(self, receipt_handle):
        # Under the queue's own lock (the one add_message appends under) and
        # in place: moto's original swaps in a rebuilt list, so a message sent
        # by another request thread during the rebuild is silently lost.
        with self._messages_lock:
            if receipt_handle in self.deleted_messages:
                return  # already deleted: moto (and SQS) accept a second delete
            for i, message in enumerate(self._messages):
                if message.had_receipt_handle(receipt_handle):
                    self.pending_messages.discard(message)
                    self.deleted_messages.update(message.all_receipt_handles)
                    del self._messages[i]
                    return
        raise models.ReceiptHandleIsInvalid()

    for name in ("messages", "approximate_number_of_messages_not_visible", "approximate_number_of_messages_delayed"):
        if not isinstance(getattr(models.Queue, name, None), property):
            raise AttributeError(f"Queue.{name}")
    for name in ("visible_at", "delayed_until", "sent_timestamp"):
        if name not in models.Message.__init__.__code__.co_names and name not in dir(models.Message):
            raise AttributeError(f"Message.{name}")
    for cls, name in (
        (models.SQSBackend, "is_message_valid_based_on_retention_period"),
        (models.SQSBackend, "send_message"),
        (models.Queue, "delete_message"),
        (models.Queue, "add_message"),
        (models.Queue, "approximate_number_of_messages"),
        (models, "ReceiptHandleIsInvalid"),
        (models.Message, "had_receipt_handle"),
        (models.Message, "all_receipt_handles"),
    ):
        if not hasattr(cls, name):
            raise AttributeError(name)
    models.unix_time = unix_time
    models.unix_time_millis = unix_time_millis
    models.SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
    models.Queue.messages = property(visible_messages)
    models.Queue.approximate_number_of_messages = property(skipped_while_sending(lambda q: len(q.messages)))
    models.Queue.approximate_number_of_messages_not_visible = property(skipped_while_sending(not_visible_count))
    models.Queue.approximate_number_of_messages_delayed = property(skipped_while_sending(delayed_count))
    models.SQSBackend.send_message = send_message
    models.Queue.delete_message = delete_message
except Exception as err:  # noqa: BLE001 - any mismatch means: run moto as is
    print(f"sluice moto launcher: running moto unpatched ({err!r})", file=sys.stderr)

from moto.server import main  # noqa: E402

main(sys.argv[1:])
