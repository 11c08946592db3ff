"""A NOTIFY wakes only the streams that follow one of the orders it names, or the list stream of
the account that placed one; an empty or unreadable payload wakes them all."""
from __future__ import annotations

from app.orders.events import _notify_payload, account_topic, order_topic
from app.orders.wakeup import Wakeup, topics_of_payload


def _woken(waiter) -> bool:
    woken = waiter._woken.is_set()
    waiter.arm()
    return woken


def test_a_notification_wakes_the_followers_of_its_topics_only():
    wakeup = Wakeup()
    first = wakeup.subscribe({order_topic("urn:o:1")})
    second = wakeup.subscribe({order_topic("urn:o:2")})
    listing = wakeup.subscribe({account_topic("bob")})
    wakeup.notify([order_topic("urn:o:1"), account_topic("bob")])
    assert (_woken(first), _woken(second), _woken(listing)) == (True, False, True)
    wakeup.notify(None)
    assert (_woken(first), _woken(second), _woken(listing)) == (True, True, True)
    wakeup.unsubscribe(first)
    wakeup.notify([order_topic("urn:o:1")])
    assert not _woken(first)
    assert wakeup.generation() == 3


def test_a_notification_that_comes_while_a_stream_reads_is_not_lost():
    wakeup = Wakeup()
    waiter = wakeup.subscribe({order_topic("urn:o:1")})
    waiter.arm()  # before reading
    wakeup.notify([order_topic("urn:o:1")])  # while reading
    waiter.wait(0)  # returns at once
    assert waiter._woken.is_set()


def test_payloads_name_topics_and_anything_else_wakes_all():
    assert topics_of_payload('["order urn:o:1","account bob"]') == ["order urn:o:1", "account bob"]
    for payload in ("", None, "urn:o:1 urn:o:2", "{}", "[1]"):
        assert topics_of_payload(payload) is None


def test_the_payload_names_each_order_and_the_account_that_placed_it(app, ordered):
    from app.orders.models import Order
    order_id = ordered()
    with app.extensions["database"].sessions() as session:
        assert topics_of_payload(_notify_payload(session, {order_id})) == [
            account_topic("bob"), order_topic(order_id)]  # not loaded: read
        session.get(Order, order_id)
        assert topics_of_payload(_notify_payload(session, {order_id})) == [
            account_topic("bob"), order_topic(order_id)]  # loaded: no query
