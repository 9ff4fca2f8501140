//! What actors ask of a work order: [`Command`]s, who they are ([`Actor`]) and why an attempt
//! is refused ([`Rejection`]).

use cityops_core::{
    CategoryId, CommandAction, CommandChannel, DeadlineKind, DepartmentId, DepartmentUpdate,
    Incident, OrderCommand, TransitionKind, UpdateAction, WarningLevel,
};
use std::fmt;

/// The actor id of dispatch itself on transitions.
pub const DISPATCH_ACTOR: &str = "dispatch";

/// Who issues a command.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The dispatch service: creates, dispatches, merges, escalates.
    Dispatch,
    /// The command centre (指挥中心): re-dispatches, grants extensions, closes, reopens, records
    /// callbacks; also the owner of the manual-triage queue's orders.
    CommandCenter,
    /// A department (委办局 or a street office), acting on the orders it owns.
    Department(DepartmentId),
}

impl Actor {
    /// The actor an id names: `dispatch`, the command centre's department id, or any other
    /// department id.
    pub fn from_id(id: &str, command_center: &DepartmentId) -> Actor {
        if id == DISPATCH_ACTOR {
            Actor::Dispatch
        } else if id == command_center.as_str() {
            Actor::CommandCenter
        } else {
            Actor::Department(DepartmentId::new(id))
        }
    }

    /// The id recorded as a transition's `actor`.
    pub fn id<'a>(&'a self, command_center: &'a DepartmentId) -> &'a str {
        match self {
            Actor::Dispatch => DISPATCH_ACTOR,
            Actor::CommandCenter => command_center.as_str(),
            Actor::Department(d) => d.as_str(),
        }
    }

    /// The department this actor acts as, for ownership: the command centre owns the triage
    /// queue's orders.
    pub fn department<'a>(&'a self, command_center: &'a DepartmentId) -> Option<&'a DepartmentId> {
        match self {
            Actor::Dispatch => None,
            Actor::CommandCenter => Some(command_center),
            Actor::Department(d) => Some(d),
        }
    }
}

/// A request to change a work order. Which actor may issue which command in which status is
/// [`crate::machine::decide`]'s table (docs/dispatch.md).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    // ----- dispatch -----
    /// Open an order for an actionable incident (status `created`).
    Create { incident: Box<Incident> },
    /// Send a created order to its owner and start its clocks.
    Dispatch,
    /// Attach a duplicate incident to this (master) order (并单).
    Merge {
        incident_id: String,
        /// Why it is a duplicate, in words (distance and time, or the repeated device).
        reason: Option<String>,
    },
    /// A warning on one clock: yellow at 75%, red at 100% ([`crate::Timers`]).
    Escalate {
        deadline: DeadlineKind,
        level: WarningLevel,
        /// The instant the level was due (the escalation is refused before it).
        due_at_ms: i64,
    },
    // ----- the owning department -----
    /// 签收.
    Accept { note: Option<String> },
    /// A progress report (a note is required).
    Progress { note: Option<String> },
    /// 办结.
    Resolve { note: Option<String> },
    /// 退单: back to the command centre (a reason is required).
    Return { reason: Option<String> },
    /// 延期申请 (a reason is required; the wished deadline is optional).
    RequestExtension {
        requested_deadline_ms: Option<i64>,
        reason: Option<String>,
    },
    // ----- the command centre -----
    /// 改派: send a returned order (or one of the triage queue) to `owner`, optionally under
    /// another category, with fresh clocks.
    Redispatch {
        owner: DepartmentId,
        category: Option<CategoryId>,
        reason: Option<String>,
    },
    /// 批准延期: the resolve deadline becomes `new_deadline_ms` (`None`: the one requested).
    GrantExtension {
        new_deadline_ms: Option<i64>,
        note: Option<String>,
    },
    /// 结案: close a resolved order (or a returned one, as invalid, with a reason).
    Close {
        reason: Option<String>,
        note: Option<String>,
    },
    /// 重办: a failed check or a dissatisfied callback (a reason is required).
    Reopen { reason: Option<String> },
    /// 回访: the citizen's score 1–5, or none when they could not be reached.
    RecordSatisfaction {
        score: Option<i32>,
        note: Option<String>,
    },
}

/// The kind of a [`Command`], without its data: the rows of the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommandKind {
    Create,
    Dispatch,
    Merge,
    EscalateAccept,
    EscalateResolve,
    Accept,
    Progress,
    Resolve,
    Return,
    RequestExtension,
    Redispatch,
    GrantExtension,
    Close,
    Reopen,
    RecordSatisfaction,
}

/// Who may issue a command kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Dispatch,
    /// The order's owner (a department, or the command centre for triage orders).
    Owner,
    CommandCenter,
}

impl CommandKind {
    pub const ALL: [CommandKind; 15] = [
        CommandKind::Create,
        CommandKind::Dispatch,
        CommandKind::Merge,
        CommandKind::EscalateAccept,
        CommandKind::EscalateResolve,
        CommandKind::Accept,
        CommandKind::Progress,
        CommandKind::Resolve,
        CommandKind::Return,
        CommandKind::RequestExtension,
        CommandKind::Redispatch,
        CommandKind::GrantExtension,
        CommandKind::Close,
        CommandKind::Reopen,
        CommandKind::RecordSatisfaction,
    ];

    /// The transition kind recorded for this command (applied or rejected).
    pub fn transition_kind(self) -> TransitionKind {
        match self {
            CommandKind::Create => TransitionKind::Created,
            CommandKind::Dispatch | CommandKind::Redispatch => TransitionKind::Dispatched,
            CommandKind::Merge => TransitionKind::Merged,
            CommandKind::EscalateAccept | CommandKind::EscalateResolve => TransitionKind::Escalated,
            CommandKind::Accept => TransitionKind::Accepted,
            CommandKind::Progress => TransitionKind::ProgressReported,
            CommandKind::Resolve => TransitionKind::Resolved,
            CommandKind::Return => TransitionKind::Returned,
            CommandKind::RequestExtension => TransitionKind::ExtensionRequested,
            CommandKind::GrantExtension => TransitionKind::ExtensionGranted,
            CommandKind::Close => TransitionKind::Closed,
            CommandKind::Reopen => TransitionKind::Reopened,
            CommandKind::RecordSatisfaction => TransitionKind::SatisfactionRecorded,
        }
    }

    /// Who may issue it.
    pub fn role(self) -> Role {
        match self {
            CommandKind::Create
            | CommandKind::Dispatch
            | CommandKind::Merge
            | CommandKind::EscalateAccept
            | CommandKind::EscalateResolve => Role::Dispatch,
            CommandKind::Accept
            | CommandKind::Progress
            | CommandKind::Resolve
            | CommandKind::Return
            | CommandKind::RequestExtension => Role::Owner,
            CommandKind::Redispatch
            | CommandKind::GrantExtension
            | CommandKind::Close
            | CommandKind::Reopen
            | CommandKind::RecordSatisfaction => Role::CommandCenter,
        }
    }

    /// A dispatcher's name of the command.
    pub fn label(self) -> &'static str {
        match self {
            CommandKind::Create => "create",
            CommandKind::Dispatch => "dispatch",
            CommandKind::Merge => "merge",
            CommandKind::EscalateAccept => "escalate (accept clock)",
            CommandKind::EscalateResolve => "escalate (resolve clock)",
            CommandKind::Accept => "accept",
            CommandKind::Progress => "report progress",
            CommandKind::Resolve => "resolve",
            CommandKind::Return => "return",
            CommandKind::RequestExtension => "request an extension",
            CommandKind::Redispatch => "re-dispatch",
            CommandKind::GrantExtension => "grant an extension",
            CommandKind::Close => "close",
            CommandKind::Reopen => "reopen",
            CommandKind::RecordSatisfaction => "record satisfaction",
        }
    }
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl Command {
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Create { .. } => CommandKind::Create,
            Command::Dispatch => CommandKind::Dispatch,
            Command::Merge { .. } => CommandKind::Merge,
            Command::Escalate {
                deadline: DeadlineKind::Accept,
                ..
            } => CommandKind::EscalateAccept,
            Command::Escalate {
                deadline: DeadlineKind::Resolve,
                ..
            } => CommandKind::EscalateResolve,
            Command::Accept { .. } => CommandKind::Accept,
            Command::Progress { .. } => CommandKind::Progress,
            Command::Resolve { .. } => CommandKind::Resolve,
            Command::Return { .. } => CommandKind::Return,
            Command::RequestExtension { .. } => CommandKind::RequestExtension,
            Command::Redispatch { .. } => CommandKind::Redispatch,
            Command::GrantExtension { .. } => CommandKind::GrantExtension,
            Command::Close { .. } => CommandKind::Close,
            Command::Reopen { .. } => CommandKind::Reopen,
            Command::RecordSatisfaction { .. } => CommandKind::RecordSatisfaction,
        }
    }

    /// The state-machine command an [`OrderCommand`] asks for. A re-dispatch without an owner
    /// names the empty department, which the state machine refuses as not in the catalogue.
    pub fn from_order_command(c: &OrderCommand) -> Command {
        let note = c.note.clone();
        let reason = c.reason.clone();
        match c.action {
            CommandAction::Accept => Command::Accept { note },
            CommandAction::Progress => Command::Progress { note },
            CommandAction::Resolve => Command::Resolve { note },
            CommandAction::Return => Command::Return { reason },
            CommandAction::RequestExtension => Command::RequestExtension {
                requested_deadline_ms: c.deadline_ms,
                reason: reason.or(note),
            },
            CommandAction::Redispatch => Command::Redispatch {
                owner: DepartmentId::new(c.owner.as_deref().unwrap_or_default()),
                category: c.category.as_deref().map(CategoryId::new),
                reason,
            },
            CommandAction::GrantExtension => Command::GrantExtension {
                new_deadline_ms: c.deadline_ms,
                note,
            },
            CommandAction::Close => Command::Close { reason, note },
            CommandAction::Reopen => Command::Reopen { reason },
            CommandAction::RecordSatisfaction => Command::RecordSatisfaction {
                score: c.score,
                note,
            },
        }
    }
}

/// The order command a department's update on `topic_department`'s updates topic asks for.
/// The topic decides who is acting (only the department may write to it); an update that
/// names another department is refused, and recorded on the order as such.
pub fn command_from_update(update: &DepartmentUpdate, topic_department: &str) -> OrderCommand {
    let action = match update.action {
        UpdateAction::Accept => CommandAction::Accept,
        UpdateAction::Progress => CommandAction::Progress,
        UpdateAction::Resolve => CommandAction::Resolve,
        UpdateAction::Return => CommandAction::Return,
        UpdateAction::RequestExtension => CommandAction::RequestExtension,
    };
    let refusal = (update.department.as_str() != topic_department).then(|| {
        format!(
            "an update on the topic of {topic_department} names department {}: a department reports on its own topic only",
            update.department
        )
    });
    OrderCommand {
        command_id: format!("{topic_department}:{}", update.update_id),
        order_id: update.order_id.clone(),
        actor: topic_department.to_owned(),
        channel: CommandChannel::Topic,
        action,
        note: update.note.clone(),
        reason: update.reason.clone(),
        deadline_ms: update.requested_deadline_ms,
        owner: None,
        category: None,
        score: None,
        refusal,
        at_ms: update.at_ms,
    }
    .with_numbers_masked()
}

/// Why an attempt was refused: the class (for an HTTP status) and the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionCode {
    /// A department acting on an order another department owns (HTTP 403).
    NotYourOrder,
    /// The actor's role may not issue this command at all (HTTP 403).
    NotPermitted,
    /// The command is not legal in the order's status (HTTP 409).
    IllegalTransition,
    /// A required reason is missing, a score out of range, a deadline in the past... (HTTP 422).
    InvalidInput,
    /// No such order here (HTTP 404). Not recorded: there is no chain to record it in.
    UnknownOrder,
    /// The incident opens no order (not actionable). Not recorded.
    NotActionable,
    /// The same department update (same update id) was already handled. Not recorded.
    Duplicate,
}

impl RejectionCode {
    /// The HTTP status an API answers with.
    pub fn http_status(self) -> u16 {
        match self {
            RejectionCode::NotYourOrder | RejectionCode::NotPermitted => 403,
            RejectionCode::IllegalTransition | RejectionCode::Duplicate => 409,
            RejectionCode::InvalidInput | RejectionCode::NotActionable => 422,
            RejectionCode::UnknownOrder => 404,
        }
    }
}

/// A refused command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Rejection {
    pub code: RejectionCode,
    /// In words, recorded as the transition's `rejection_reason`.
    pub reason: String,
}

impl Rejection {
    pub fn new(code: RejectionCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}
