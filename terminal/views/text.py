"""The words the terminal shows and prints, in English and Russian."""

from __future__ import annotations

from typing import Literal

__all__ = ["Language", "TEXT", "t"]

Language = Literal["en", "ru"]

#: key → (English, Russian). Wording follows what cashiers already know from POS software.
TEXT: dict[str, tuple[str, str]] = {
    # screen titles
    "ready": ("READY", "ГОТОВ"),
    "enter_amount": ("Enter amount", "Введите сумму"),
    "amount": ("AMOUNT", "СУММА"),
    "pay": ("PAY", "ОПЛАТА"),
    "scan_code": ("Scan the code", "Сканируйте код"),
    "or_enter_for_qr": ("or ENTER for QR", "или ВВОД для QR"),
    "please_wait": ("Please wait", "Пожалуйста, подождите"),
    "scan_qr": ("Scan the QR", "Сканируйте QR"),
    "or_tap_nfc": ("or tap NFC", "или NFC"),
    "qr_printed": ("Scan the QR on the slip", "QR-код на чеке"),
    "scan_sticker": ("Scan the sticker", "Сканируйте наклейку"),
    "confirm_in_app": ("Confirm in your app", "Подтвердите в приложении"),
    "paying": ("Paying…", "Оплата…"),
    "checking": ("Checking payment", "Проверка оплаты"),
    "no_connection": ("Payment not completed", "Оплата не завершена"),
    "no_connection_long": (
        "Payment not completed, no connection to processing",
        "Оплата не завершена, нет связи с процессингом",
    ),
    "no_connection_title": ("NO CONNECTION", "НЕТ СВЯЗИ"),
    "dialog_buttons": ("Retry / Cancel / Force", "Повтор/Отмена/Провести"),
    "cancelling": ("Cancelling…", "Отмена…"),
    "approval": ("SUPERVISOR", "СТАРШИЙ КАССИР"),
    "enter_pin": ("PIN or badge", "PIN или карта"),
    "void_confirm": ("VOID PAYMENT?", "ОТМЕНИТЬ ОПЛАТУ?"),
    "void_hint": ("ENTER yes, Cancel no", "ВВОД да, Отмена нет"),
    "voiding": ("Voiding…", "Отмена оплаты…"),
    "paid": ("PAID", "ОПЛАЧЕНО"),
    "declined": ("DECLINED", "ОТКЛОНЕНО"),
    "expired": ("EXPIRED", "ВРЕМЯ ИСТЕКЛО"),
    "cancelled": ("CANCELLED", "ОТМЕНЕНО"),
    "failed": ("NOT PAID", "НЕ ОПЛАЧЕНО"),
    "cancel_failed": ("CANCEL FAILED", "ОТМЕНА НЕ ПРОШЛА"),
    "forced": ("FORCED", "ПРОВЕДЕНО ВРУЧНУЮ"),
    "voided": ("VOIDED", "ОПЛАТА ОТМЕНЕНА"),
    "refunded": ("REFUNDED", "ВОЗВРАТ ВЫПОЛНЕН"),
    "refund": ("REFUND", "ВОЗВРАТ"),
    "refund_scan": ("Scan the slip's barcode", "Сканируйте штрихкод чека"),
    "refund_or_type": ("or type its No., ENTER", "или номер чека, ВВОД"),
    "refunding": ("Refunding…", "Возврат…"),
    "out_of_service": ("OUT OF SERVICE", "НЕ РАБОТАЕТ"),
    "config_error": ("CONFIG ERROR", "ОШИБКА НАСТРОЙКИ"),
    "config_see_card": ("See the SD card", "Смотрите SD-карту"),
    "call_admin": ("Call an administrator", "Обратитесь к администратору"),
    "void_hint_done": ("Cancel = void", "Отмена = возврат"),
    "next_customer": ("Type the next amount", "Введите следующую сумму"),
    "training_mark": ("TRAINING", "УЧЕБНЫЙ"),
    # notices (state.message)
    "too_large": ("Amount too large", "Сумма слишком велика"),
    "amount_first": ("Enter the amount first", "Сначала введите сумму"),
    "no_mpm": ("QR payments are off", "Оплата по QR отключена"),
    "code_unknown": ("Unknown wallet code", "Неизвестный код кошелька"),
    "code_unreadable": ("Unreadable code, scan again", "Код не прочитан, повторите"),
    "code_too_long": ("Not a wallet code", "Это не код кошелька"),
    "code_empty": ("Empty scan, scan again", "Пустой код, повторите"),
    "wrong_pin": ("Wrong PIN", "Неверный PIN"),
    "approval_refused": ("Approval refused", "Подтверждение отклонено"),
    "not_paid_in_time": ("Not paid in time", "Не оплачено вовремя"),
    "cancelled_by_cashier": ("Cancelled", "Отменено"),
    "void_failed": ("Void not confirmed: Retry", "Отмена не подтверждена: Повторить"),
    "void_refused": ("Void refused by provider", "Отмена отклонена"),
    "refund_looking": ("Looking up the slip…", "Поиск чека…"),
    "refund_not_found": ("No such payment here", "Оплата не найдена"),
    "refund_already": ("Already refunded", "Возврат уже выполнен"),
    "refund_not_paid": ("This payment was not paid", "Эта оплата не прошла"),
    "refund_unsupported": ("No refunds for this payment", "Возврат для оплаты недоступен"),
    "refund_failed": ("Refund not confirmed: Retry", "Возврат не подтверждён: Повторить"),
    "refund_refused": ("Refund refused by provider", "Возврат отклонён"),
    "printer_paper": ("Printer needs paper", "Нет бумаги в принтере"),
    "printer_offline": ("Printer offline", "Принтер не отвечает"),
    "qr_on_slip": ("QR on the slip", "QR-код на чеке"),
    # slips
    "slip_payment": ("PAYMENT", "ОПЛАТА"),
    "slip_terminal": ("Terminal", "Терминал"),
    "slip_order": ("Order", "Заказ"),
    "slip_number": ("No.", "Номер"),
    "slip_shift": ("Shift", "Смена"),
    "slip_provider": ("Provider", "Платёжная система"),
    "slip_provider_order": ("Provider order", "Заказ в системе"),
    "slip_amount": ("Amount", "Сумма"),
    "slip_code": ("Code", "Код"),
    "slip_time": ("Time", "Время"),
    "slip_clock_unsynced": ("(clock not synced)", "(часы не сверены)"),
    "slip_status": ("Status", "Статус"),
    "slip_reason": ("Reason", "Причина"),
    "slip_not_confirmed": ("NOT CONFIRMED", "НЕ ПОДТВЕРЖДЕНО"),
    "slip_do_not_charge": ("Do not charge again", "Не проводите оплату повторно"),
    "slip_keep": ("Keep this slip", "Сохраните этот чек"),
    "slip_admin": ("Administrator must check", "Требуется решение администратора"),
    "slip_contact_provider": ("with the payment system", "и обращение в платёжную систему"),
    "slip_forced_note": ("Not confirmed by provider", "Не подтверждено платёжной системой"),
    "slip_mismatch": ("RECONCILE MISMATCH", "РАСХОЖДЕНИЕ СВЕРКИ"),
    "slip_terminal_said": ("Terminal said", "Терминал"),
    "slip_provider_says": ("Provider says", "Платёжная система"),
    "slip_recovered": ("Resolved after restart", "Выяснено после перезапуска"),
    "slip_scan_to_pay": ("Scan to pay", "Отсканируйте для оплаты"),
    "slip_signature": ("Thank you", "Спасибо"),
    "slip_refund": ("REFUND", "ВОЗВРАТ"),
    "slip_refund_note": ("Money returned to the wallet", "Деньги возвращены на счёт"),
    "slip_training": ("TRAINING - NOT A PAYMENT", "УЧЕБНЫЙ РЕЖИМ - НЕ ПЛАТЁЖ"),
    "slip_cancel_not_confirmed": (
        "The provider did not confirm the cancel",
        "Платёжная система не подтвердила отмену",
    ),
    "report_x": ("X REPORT", "X-ОТЧЁТ"),
    "report_opened": ("Opened", "Открыта"),
    "report_printed": ("Printed", "Напечатан"),
    "report_paid": ("Paid", "Оплачено"),
    "report_forced": ("Forced", "Проведено вручную"),
    "report_voided": ("Voided", "Отменено оплат"),
    "report_open_shift": ("Shift stays open", "Смена не закрыта"),
    "report_only_paid": ("Only paid payments are summed", "Суммируются только оплаченные"),
}


def t(key: str, language: Language) -> str:
    """The text for ``key`` in ``language`` (the key itself when unknown, so gaps show)."""
    pair = TEXT.get(key)
    if pair is None:
        return key
    return pair[1] if language == "ru" else pair[0]
