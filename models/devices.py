"""Devices and the warehouse: models, serialised devices, stock balances, movements, device logins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

DEVICE_MODEL_KINDS = ("device", "sim")
DEVICE_STATES = ("in_stock", "reserved", "assigned", "in_repair", "lost_stolen", "retired")
MOVEMENT_KINDS = (
    "receive",
    "transfer",
    "reserve",
    "release",
    "dispatch",
    "return",
    "write_off",
    "state_change",
)


class Warehouse(Base):
    """Where stock sits: an operator warehouse, a repair centre, or a retail outlet's stock room."""

    __tablename__ = "warehouses"
    __table_args__ = (
        CheckConstraint("kind in ('warehouse','outlet','repair')", name="kind"),
        UniqueConstraint("organisation_id", "code", name="uq_warehouses_org_code"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    operator_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="warehouse")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceModel(Base):
    """A make and model of a catalogue device product (``stb-4k`` → Acme X1 and Acme X2)."""

    __tablename__ = "device_models"
    __table_args__ = (
        UniqueConstraint("operator_id", "code", name="uq_device_models_operator_code"),
        CheckConstraint(f"kind in {DEVICE_MODEL_KINDS}", name="kind"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    code: Mapped[str] = mapped_column(String(64))
    product_code: Mapped[str] = mapped_column(String(64), comment="a catalogue product of kind device")
    manufacturer: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(
        String(16), server_default="device", comment="device | sim (carries ICCID and IMSI)"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Device(Base):
    """One traceable device, tracked by serial from the warehouse to the home and back."""

    __tablename__ = "devices"
    __table_args__ = (
        CheckConstraint(f"state in {DEVICE_STATES}", name="state"),
        CheckConstraint(
            "(state in ('reserved','assigned')) = (subscription_id is not null)", name="holder_subscription"
        ),
        CheckConstraint(
            "state not in ('in_stock','reserved','in_repair') or warehouse_id is not null",
            name="in_warehouse",
        ),
        CheckConstraint(
            "state not in ('assigned','lost_stolen') or warehouse_id is null", name="out_warehouse"
        ),
        UniqueConstraint("operator_id", "serial", name="uq_devices_operator_serial"),
        UniqueConstraint("operator_id", "iccid", name="uq_devices_operator_iccid"),
        UniqueConstraint("operator_id", "imsi", name="uq_devices_operator_imsi"),
        UniqueConstraint("operator_id", "msisdn", name="uq_devices_operator_msisdn"),
        Index("ix_devices_pick", "warehouse_id", "product_code", "state"),
        Index("ix_devices_subscription", "subscription_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    holder_organisation_id: Mapped[str] = mapped_column(
        ForeignKey("organisations.id"), index=True, comment="whose warehouse or subscriber holds it now"
    )
    model_id: Mapped[str] = mapped_column(ForeignKey("device_models.id"))
    product_code: Mapped[str] = mapped_column(String(64))
    serial: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(17))
    smartcard_id: Mapped[str | None] = mapped_column(String(64))
    iccid: Mapped[str | None] = mapped_column(String(20), comment="a SIM's card number (Luhn-checked)")
    imsi: Mapped[str | None] = mapped_column(String(15), comment="a SIM's subscriber identity")
    msisdn: Mapped[str | None] = mapped_column(String(16), comment="the SIM's line number (E.164)")
    state: Mapped[str] = mapped_column(String(16), default="in_stock")
    warehouse_id: Mapped[str | None] = mapped_column(ForeignKey("warehouses.id"))
    subscription_id: Mapped[str | None] = mapped_column(ForeignKey("subscriptions.id"))
    service_id: Mapped[str | None] = mapped_column(String(32), comment="the service's line id")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StockBalance(Base):
    """How many non-traceable items of a product a warehouse holds; never negative."""

    __tablename__ = "stock_balances"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"), primary_key=True)
    product_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StockMovement(Base):
    """Every movement of stock or change of a device's state, with who and when (append-only)."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint(f"kind in {MOVEMENT_KINDS}", name="kind"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_stock_movements_operator", "operator_id", "id"),
        Index("ix_stock_movements_device", "device_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    product_code: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    from_warehouse_id: Mapped[str | None] = mapped_column(ForeignKey("warehouses.id"))
    to_warehouse_id: Mapped[str | None] = mapped_column(ForeignKey("warehouses.id"))
    subscription_id: Mapped[str | None] = mapped_column(String(32))
    service_id: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64), comment="the API key id that asked for it")
    process_id: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ServiceCredential(Base):
    """The secret a subscriber's apps log in with, per subscription service; only its hash is kept."""

    __tablename__ = "service_credentials"

    service_id: Mapped[str] = mapped_column(
        String(32), primary_key=True, comment="the service's line id (stable across plan changes)"
    )
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceLogin(Base):
    """A device (an app install, a TV, a set-top box) logged in to a service."""

    __tablename__ = "device_logins"
    __table_args__ = (
        Index(
            "uq_device_logins_active",
            "service_id",
            "device_id",
            unique=True,
            postgresql_where="logged_out_at is null",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    service_id: Mapped[str] = mapped_column(String(32), index=True, comment="the service's line id")
    device_id: Mapped[str] = mapped_column(String(128), comment="the app's own stable device identifier")
    device_name: Mapped[str | None] = mapped_column(String(200))
    logged_in_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    logged_out_at: Mapped[datetime | None]
    logout_reason: Mapped[str | None] = mapped_column(String(32))
