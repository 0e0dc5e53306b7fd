"""SQLAlchemy 2 models: the database is the bot's source of truth."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class BotState(Base):
    """Small key/value facts: device id, access token, sync token, secrets."""

    __tablename__ = "bot_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class HandledEvent(Base):
    """Events already acted on, so a replayed sync never acts twice."""

    __tablename__ = "handled_events"
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class UserPrefs(Base):
    __tablename__ = "user_prefs"
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DirectRoom(Base):
    """Rooms that are a direct conversation between the bot and one member."""

    __tablename__ = "direct_rooms"
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)


class QuestionGroup(Base):
    """One item of similar questions the bot could not answer; its id is the number
    coordinators use (`Frage #N`), never reused (AUTOINCREMENT on SQLite).

    `text` is the group's first question in full (what `!faq antwort N` stores); `terms` its
    analysed terms, space-separated, that new questions are compared with (None: not analysed
    yet, a group carried over by a migration). `state` is `open`, `answered` (then `entry_id`
    names the knowledge entry) or `closed`; `settled_at` is when it stopped being open.
    """

    __tablename__ = "question_groups"
    __table_args__ = (
        Index("ix_question_groups_listing", "state", "asked_count", "id"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    terms: Mapped[str | None] = mapped_column(Text)
    asked_count: Mapped[int] = mapped_column(Integer, default=1)  # its questions (askers)
    first_asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="open")
    entry_id: Mapped[str | None] = mapped_column(String(64))
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QuestionGroupTerm(Base):
    """The terms of each open group, so a new question looks only at groups sharing one of
    its heaviest terms (rows exist only while the group is open)."""

    __tablename__ = "question_group_terms"
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("question_groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class UnansweredQuestion(Base):
    """A question the bot could not answer, in the group it joined on arrival. The asker is
    kept only as a pseudonym (None for questions stored before pseudonyms were kept), so a
    member can see and delete their questions; deleted after BOT_QUESTION_RETENTION."""

    __tablename__ = "unanswered_questions"
    __table_args__ = (Index("ix_unanswered_questions_pseudonym", "pseudonym", "asked_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("question_groups.id", ondelete="CASCADE"), index=True
    )
    pseudonym: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    answered_entry: Mapped[str | None] = mapped_column(String(64))


class KnowledgeEntry(Base):
    """Entries coordinators added at run time, on top of the shipped files."""

    __tablename__ = "knowledge_entries"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Initiative(Base):
    __tablename__ = "initiatives"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    region: Mapped[str] = mapped_column(String(200))
    bundesland: Mapped[str | None] = mapped_column(String(64))
    topics: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str | None] = mapped_column(String(255), index=True)
    website: Mapped[str | None] = mapped_column(String(500))
    intros_enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ContactHandover(Base):
    """A contact change waiting for the new contact's confirmation (one per initiative).

    Until it is confirmed, and after `expires_at` for good, the public entry keeps its old
    contact: nobody is listed as a contact without having agreed to it."""

    __tablename__ = "contact_handovers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), unique=True
    )
    new_contact: Mapped[str] = mapped_column(String(255), index=True)
    requested_by: Mapped[str] = mapped_column(String(255), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Introduction(Base):
    """Pairs of initiatives already introduced to each other (never repeated)."""

    __tablename__ = "introductions"
    __table_args__ = (UniqueConstraint("first_id", "second_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    second_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    introduced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventSeries(Base):
    """A recurring series: the RRULE its occurrences were expanded from."""

    __tablename__ = "event_series"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarEvent(Base):
    """A webinar, conference, workshop or meeting (one occurrence of a series, if any)."""

    __tablename__ = "calendar_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="webinar")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    minutes: Mapped[int] = mapped_column(Integer, default=60)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # or "cancelled"
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE
    mention_room: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_series.id", ondelete="SET NULL"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EventPost(Base):
    """One scheduled post of an event in one room: reminder, start, feedback prompt, notice.

    A row is written as `sending` before the post goes out and becomes `sent` (with the Matrix
    event id) once the homeserver confirmed it; `pending` is a notice queued by a change;
    `skipped` was never posted and never will be. The feedback prompt's `matrix_event_id` is
    what members react to.
    """

    __tablename__ = "event_posts"
    __table_args__ = (UniqueConstraint("event_id", "slot", "room_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("calendar_events.id", ondelete="CASCADE"), index=True
    )
    slot: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # reminder, start, feedback, cancel, move
    room_id: Mapped[str] = mapped_column(String(255))
    txn_id: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    with_ics: Mapped[bool] = mapped_column(default=False)
    matrix_event_id: Mapped[str | None] = mapped_column(String(255), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    members: Mapped[int | None] = mapped_column(Integer)  # the room's, when a prompt went out


class FeedbackRating(Base):
    """One member's rating of one event, under a pseudonym (never the Matrix ID).

    `reaction_event_id` is the reaction that gave it (None for `!feedback`), so redacting that
    reaction removes the rating; `updated_at` is when the member gave it.
    """

    __tablename__ = "feedback_ratings"
    __table_args__ = (UniqueConstraint("event_id", "pseudonym"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("calendar_events.id", ondelete="CASCADE"), index=True
    )
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    stars: Mapped[int] = mapped_column(Integer)
    reaction_event_id: Mapped[str | None] = mapped_column(String(255), index=True)
    source: Mapped[str] = mapped_column(String(16))  # reaction or command
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedbackComment(Base):
    """A comment on an event, under a pseudonym; deleted after BOT_FEEDBACK_RETENTION."""

    __tablename__ = "feedback_comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("calendar_events.id", ondelete="CASCADE"), index=True
    )
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    matrix_event_id: Mapped[str | None] = mapped_column(String(255), index=True)  # its message


class UsageRecord(Base):
    """That something was asked, for the funder report: a question (`outcome` answer, partial,
    ask or unknown) or a `!passend` request (found or none), in which language, when. Nothing
    about who asked, and not the text."""

    __tablename__ = "usage_records"
    __table_args__ = (Index("ix_usage_records_kind_at", "kind", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # question or match
    outcome: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportPost(Base):
    """One scheduled report of one period to one target (the coordination room, or a
    coordinator's Matrix ID for their direct chat): written as `sending` before it goes out
    and `sent` once the homeserver confirmed it, so each period is posted once."""

    __tablename__ = "report_posts"
    __table_args__ = (UniqueConstraint("period", "target"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(32))  # e.g. 2026-11
    target: Mapped[str] = mapped_column(String(255))
    txn_id: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    matrix_event_id: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HandoffPost(Base):
    """The coordination room's post of one question group (`Frage #N`).

    Written as `pending` with the question (its transaction id derived from the group), sent
    by the handoff delivery and then `sent` with its Matrix event id: posted at most once,
    across restarts and crashes. A change to what it shows (count, answers, state) counts up
    `version`; the post is edited until `shown_version` caught up. `last_answer` is the
    answer relayed last (what ✅ saves).
    """

    __tablename__ = "handoff_posts"
    group_id: Mapped[int] = mapped_column(
        ForeignKey("question_groups.id", ondelete="CASCADE"), primary_key=True
    )
    txn_id: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending, sent
    room_id: Mapped[str | None] = mapped_column(String(255))
    matrix_event_id: Mapped[str | None] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)  # counts changes to show
    shown_version: Mapped[int] = mapped_column(Integer, default=0)  # what the post shows
    last_answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    saved_by: Mapped[str | None] = mapped_column(String(255))  # the coordinator whose ✅ saved
    save_told: Mapped[bool] = mapped_column(default=False)  # the save was confirmed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HandoffLink(Base):
    """Where one handed-off question was asked, so the answer can reply to it. Kept until
    the item is answered or closed plus 30 days (and goes with its question)."""

    __tablename__ = "handoff_links"
    question_id: Mapped[int] = mapped_column(
        ForeignKey("unanswered_questions.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("question_groups.id", ondelete="CASCADE"), index=True
    )
    room_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str] = mapped_column(String(255))
    thread_root: Mapped[str | None] = mapped_column(String(255))
    asker: Mapped[str] = mapped_column(String(255))  # to mention in the reply
    language: Mapped[str] = mapped_column(String(16))
    room_name: Mapped[str | None] = mapped_column(String(255))  # None: a direct chat


class HandoffAnswer(Base):
    """A coordinator's answer to an item (or its closing), relayed to every asker."""

    __tablename__ = "handoff_answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("question_groups.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # answer, correction, closed
    text: Mapped[str] = mapped_column(Text)
    room_id: Mapped[str] = mapped_column(String(255))  # where the coordinator answered
    event_id: Mapped[str] = mapped_column(String(255))
    thread_root: Mapped[str | None] = mapped_column(String(255))
    answered_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed: Mapped[bool] = mapped_column(default=False, index=True)


class HandoffRelay(Base):
    """One answer to one asker: `pending` until sent (`sent`), or `skipped` (the asker left)
    or `failed`; its transaction id is derived from both, so it is posted at most once."""

    __tablename__ = "handoff_relays"
    answer_id: Mapped[int] = mapped_column(
        ForeignKey("handoff_answers.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("handoff_links.question_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    state: Mapped[str] = mapped_column(String(16), index=True)
    tries: Mapped[int] = mapped_column(Integer, default=0)
