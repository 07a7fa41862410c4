"""Two-step confirmation widgets that return at once: review, then one click acts, exactly once.

A magic displays the widget and returns; the kernel stays free. ``Confirm`` runs the action in a worker thread
(the button is disabled first, and a lock makes a second click a no-op), then the widget shows the result (a
payment receipt) or the error in place. ``Cancel`` ends it with nothing done. Payments behind the action are
idempotent too (see the payment ledger), so even a retried action cannot pay twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from ..display import Notice, esc, kv_html
from ..errors import QuoteChangedError
from ._base import WidgetView, error_html, run_background


class ConfirmAction(WidgetView):
    """Review ``rows`` under ``title``; on Confirm run ``action`` once and render its result.

    ``state`` goes ``pending`` -> ``running`` -> ``done`` | ``failed`` | ``cancelled``; ``result`` and ``error``
    hold the outcome. ``background=False`` runs the action in the clicking thread (tests).
    """

    def __init__(
        self,
        title: str,
        rows: Mapping[str, Any],
        action: Callable[[], Any],
        *,
        confirm_label: str = "Confirm",
        danger: bool = True,
        on_done: Callable[[Any], None] | None = None,
        background: bool = True,
        cancelled_html: str | None = None,
        cleanup: tuple[str, Callable[[], Any]] | None = None,
        on_cancel: Callable[[], Any] | None = None,
    ) -> None:
        import ipywidgets as w

        self._cancelled_html = cancelled_html
        self._cleanup = cleanup
        self._on_cancel = on_cancel
        self.cleanup_button: Any = None
        self.title = title
        self.rows = dict(rows)
        self._action = action
        self._on_done = on_done
        self._background = background
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self.state = "pending"
        self.result: Any = None
        self.error: BaseException | None = None
        self.clicks = 0
        self.calls = 0
        self.review = w.HTML(kv_html(title, self.rows))
        self.confirm_button = w.Button(description=confirm_label, button_style="danger" if danger else "primary",
                                       icon="check")
        self.cancel_button = w.Button(description="Cancel", icon="times")
        self.status = w.HTML()
        self.confirm_button.on_click(self._confirm)
        self.cancel_button.on_click(self._cancel)
        self.widget = w.VBox([self.review, w.HBox([self.confirm_button, self.cancel_button]), self.status])

    def _confirm(self, _button: Any = None) -> None:
        with self._lock:
            self.clicks += 1
            if self.state not in ("pending", "failed"):
                return
            self.state = "running"
            self.calls += 1
        self.confirm_button.disabled = True
        self.cancel_button.disabled = True
        self.confirm_button.description = "Working…"
        self.status.value = "<i>Working… the kernel stays free; this updates when done.</i>"
        run_background(self._action, on_done=self._done, on_error=self._failed, synchronous=not self._background,
                       name="swan-jupyter-confirm")

    def _done(self, result: Any) -> None:
        self.result = result
        self.state = "done"
        html = result._repr_html_() if hasattr(result, "_repr_html_") else f"<pre>{esc(result)}</pre>"
        self.review.value = html
        self.status.value = ""
        self.widget.children = (self.review,)
        self._finished.set()
        if self._on_done is not None:
            self._on_done(result)

    def _failed(self, exc: BaseException) -> None:
        self.error = exc
        self.state = "failed"
        self.status.value = error_html(exc)
        self.confirm_button.description = "Retry"
        self.confirm_button.disabled = False
        self.cancel_button.disabled = False
        self._finished.set()

    def _cancel(self, _button: Any = None) -> None:
        """Cancel: with ``on_cancel``, run it (in the background) and show what it says happened; the clean-up
        button is offered when its result has ``offers_cleanup`` (or when there is no ``on_cancel``)."""
        with self._lock:
            if self.state not in ("pending", "failed"):
                return
            self.state = "cancelling" if self._on_cancel is not None else "cancelled"
        self.confirm_button.disabled = True
        self.cancel_button.disabled = True
        if self._on_cancel is None:
            self._cancelled(self._cancelled_html or "<b>Cancelled</b>: nothing was done.", offer_cleanup=True)
            return
        self.status.value = "<i>Cancelling… nothing is said until the chain has settled it.</i>"

        def settled(result: Any) -> None:
            html = result._repr_html_() if hasattr(result, "_repr_html_") else f"<pre>{esc(result)}</pre>"
            offer = bool(getattr(result, "offers_cleanup", False))
            self.result = result
            self._cancelled(html + (self._cancelled_html or "") if offer else html, offer_cleanup=offer)

        def failed(exc: BaseException) -> None:
            self.error = exc
            self.state = "failed"
            self.status.value = "<b>The cancel did not finish</b>; Cancel again retries it." + error_html(exc)
            self.cancel_button.disabled = False
            self._finished.set()

        run_background(self._on_cancel, on_done=settled, on_error=failed, synchronous=not self._background,
                       name="swan-jupyter-cancel")

    def _cancelled(self, html: str, *, offer_cleanup: bool) -> None:
        """The cancel's outcome: the clean-up button first, then the words, then ``state`` (what a reader waits
        for comes last, so whoever sees the words or the state also finds the button)."""
        if self._cleanup is not None and offer_cleanup:
            import ipywidgets as w

            label, action = self._cleanup
            self.cleanup_button = w.Button(description=label, icon="trash", tooltip=label,
                                           layout=w.Layout(width="auto"))
            self.cleanup_button.on_click(lambda _b: self._run_cleanup(action))
            self.widget.children = (*self.widget.children, self.cleanup_button)
        self.status.value = html
        self.state = "cancelled"
        self._finished.set()

    def _run_cleanup(self, action: Callable[[], Any]) -> None:
        """The clean-up offered after Cancel (once): its result, or its error, replaces the cancel note."""
        if self.cleanup_button is None or self.cleanup_button.disabled:
            return
        self.cleanup_button.disabled = True

        def shown(result: Any) -> None:
            html = result._repr_html_() if hasattr(result, "_repr_html_") else f"<pre>{esc(result)}</pre>"
            self.status.value = html

        def failed(exc: BaseException) -> None:
            self.status.value = error_html(exc)
            if self.cleanup_button is not None:
                self.cleanup_button.disabled = False

        run_background(action, on_done=shown, on_error=failed, synchronous=not self._background,
                       name="swan-jupyter-cleanup")

    def click_confirm(self) -> None:
        """Programmatic click (the same path as the button)."""
        self.confirm_button.click()

    def wait(self, timeout: float = 120.0) -> Any:
        """Block until the action finished (tests and scripts); returns the result or raises its error."""
        if not self._finished.wait(timeout):
            raise TimeoutError(f"the action did not finish within {timeout} s")
        if self.error is not None and self.state == "failed":
            raise self.error
        return self.result

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.title!r}, state={self.state!r})"


class PaymentConfirmation(ConfirmAction):
    """The quote of a payment with Confirm and Cancel; the click pays exactly that quote, and the widget becomes
    the receipt.

    ``pay(quote)`` is called with the quote on screen (e.g. ``lambda q: orch.pay(uuid, confirmed=q)``), so what
    is signed is what was shown. If the payment would now differ (the server changed the price or duration, say),
    the core refuses with :class:`~swan_jupyter.errors.QuoteChangedError`; the widget then shows the new quote,
    says what changed, and a further click pays the new quote (never the old one, never both).

    ``on_cancel`` is the cancel path of the payment (``lambda: orch.cancel_payment(uuid)``): Cancel then says
    what became of a payment the click may have signed, only once it is known. Every confirmation this package
    shows passes it; without it Cancel only closes the widget.
    """

    def __init__(self, quote: Any, pay: Callable[[Any], Any], **kwargs: Any) -> None:
        kwargs.setdefault("confirm_label", f"Pay {quote.amount_text}")
        self.quote = quote
        self._pay_quote = pay
        super().__init__(self._title(quote), quote.rows(), lambda: self._pay_quote(self.quote), **kwargs)

    @staticmethod
    def _title(quote: Any) -> str:
        return f"Confirm payment: {quote.order_type.lower()} of task {quote.task_uuid}"

    def _failed(self, exc: BaseException) -> None:
        if not isinstance(exc, QuoteChangedError):
            super()._failed(exc)
            return
        self.quote = exc.quote  # offered for confirmation: the next click pays this one
        self.title, self.rows = self._title(exc.quote), dict(exc.quote.rows())
        self.review.value = kv_html(self.title, self.rows)
        self.error = exc
        self.state = "pending"
        self.status.value = ("<div><b>The quote changed; nothing was paid.</b> Review the new quote above; "
                             "Pay confirms it.</div>" + error_html(exc))
        self.confirm_button.description = f"Pay {exc.quote.amount_text}"
        self.confirm_button.disabled = False
        self.cancel_button.disabled = False
        self._finished.set()


def creation_confirmation(orch: Any, task: Any, *, on_done: Callable[[Any], None] | None = None,
                          background: bool = True) -> PaymentConfirmation:
    """The payment confirmation of a task just created (``%swan_deploy`` and the deploy form).

    The task exists before the click. Cancel goes through the one cancel path (``orch.cancel_payment``): a
    payment that was signed is cancelled on chain, and the widget says what happened only once it is known
    (cancelled and nothing paid, or already paid). When nothing was paid, it says the task stays
    ``initialized`` (unpaid), how to pay it later (``%swan pay UUID``), and offers a button that removes it.
    """
    uuid = task["task_uuid"]
    note = (f"<div>Task <code>{esc(uuid)}</code> stays <code>initialized</code> (created, unpaid) on the "
            f"Orchestrator. Pay it later with <code>%swan pay {esc(uuid)}</code>, or remove it:</div>")
    return PaymentConfirmation(orch.quote(uuid, task=task.get("task")), lambda shown: orch.pay(uuid, confirmed=shown),
                               on_done=on_done, background=background, cancelled_html=note,
                               on_cancel=lambda: orch.cancel_payment(uuid),
                               cleanup=("Remove the unpaid task", lambda: _removed(orch, uuid)))


def _removed(orch: Any, uuid: str) -> Any:
    """Terminate a task whose payment was cancelled, and say what became of it (through the same cancel path)."""
    result = orch.terminate_task(uuid)
    cancellation = result.get("cancellation")
    if cancellation is not None and cancellation.outcome == "paid":
        return cancellation
    return Notice(f"Task {uuid} removed (terminated). Nothing was paid, so there is nothing to refund.")
