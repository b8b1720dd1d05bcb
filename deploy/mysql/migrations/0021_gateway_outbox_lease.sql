-- Until when the gateway whose own send of a command is still trying holds its row: the outbox sweep of every
-- gateway stops at a row whose lease is running, keeping the rows behind it in order. The releasing gateway
-- writes it once its send outlasts the request's wait for Kafka, and renews it while the send goes on; one that
-- died stops renewing, and the sweep takes its row once the lease runs out. Before it, only the sending gateway
-- knew (in its memory): with two replicas, another's sweep re-sent a command whose first send was still trying,
-- after a later command of the same image (found by a multi-replica review). Null on rows whose send never
-- outlasted the wait, and on rows an older gateway wrote: the sweep takes them as before, after a minute.
ALTER TABLE gateway_outbox
  ADD COLUMN sending_until DATETIME(3) NULL;
