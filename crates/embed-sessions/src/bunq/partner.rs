//! Partner user provisioning: create a provision, poll it until the user can be onboarded,
//! reset or cancel it.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use super::context::BunqContext;
use super::raw::types;
use super::reason::BunqReason;
use super::{Bunq, CREATE_USER_PROVISION as CREATE_PROVISION};
use crate::core::error::ErrorKind;
use crate::core::{ApiError, Error, Provider, Reason, Secret, validate};

const GET_PROVISION: &str = "get_partner_user_provision";
const UPDATE_PROVISION: &str = "update_partner_user_provision";

/// A partner user provision as last read. The credential's token value is taken out of the
/// generated type into a [`Secret`]: [`Provision::details`] never holds it.
#[derive(Clone)]
pub struct Provision {
    id: i64,
    details: Option<types::PartnerUserProvision>,
    token_value: Option<Secret>,
}

impl fmt::Debug for Provision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provision")
            .field("id", &self.id)
            .field("status", &self.status())
            .field("sub_status", &self.sub_status())
            .field("credential_status", &self.credential_status())
            .field("token_value", &self.token_value)
            .finish_non_exhaustive()
    }
}

impl Provision {
    fn from_response(
        op: &'static str,
        response: types::PartnerUserProvisionResponse,
    ) -> Result<Self, Error> {
        let (mut id, mut details) = (None, None);
        for item in response.response {
            match item {
                types::PartnerUserProvisionItem::Id(i) => id = Some(i.id),
                types::PartnerUserProvisionItem::PartnerUserProvision(p) => details = Some(p),
            }
        }
        let token_value = details
            .as_mut()
            .and_then(|p| p.credential.as_mut())
            .and_then(|c| c.token_value.take())
            .filter(|t| !t.is_empty())
            .map(Secret::new);
        let id = id.or_else(|| details.as_ref().and_then(|p| p.id)).ok_or_else(|| {
            Error::new(ErrorKind::UnexpectedResponse)
                .with_message("the response has neither an `Id` nor a provision id")
                .at(Bunq::DESCRIPTOR.name(), op)
        })?;
        Ok(Self { id, details, token_value })
    }

    /// The provision id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The provision as bunq returned it (absent when a create returned only its `Id`),
    /// without the token value.
    pub fn details(&self) -> Option<&types::PartnerUserProvision> {
        self.details.as_ref()
    }

    /// `CREATED`, `ACTIVE`, `CANCELLED`, `FAILED`, `CLOSED` or `TOKEN_RESET_REQUESTED`.
    pub fn status(&self) -> Option<&str> {
        self.details.as_ref()?.status.as_deref()
    }

    /// The progress, `PENDING_PROCESS_USER_ONBOARDING` when the user can be onboarded.
    pub fn sub_status(&self) -> Option<&str> {
        self.details.as_ref()?.sub_status.as_deref()
    }

    /// The credential's status: `PENDING_FIRST_USE`, `ACTIVE` or `EXPIRED`.
    pub fn credential_status(&self) -> Option<&str> {
        self.details.as_ref()?.credential.as_ref()?.status.as_deref()
    }

    /// The user's API key while the credential awaits its first use.
    pub fn token_value(&self) -> Option<&Secret> {
        self.token_value.as_ref()
    }

    /// Ready for onboarding: sub-status `PENDING_PROCESS_USER_ONBOARDING`, credential
    /// `PENDING_FIRST_USE` with a token value. (`status` is not used: sources disagree
    /// whether a ready provision is `CREATED` or `ACTIVE`.)
    pub fn is_ready(&self) -> bool {
        self.sub_status() == Some("PENDING_PROCESS_USER_ONBOARDING")
            && self.credential_status() == Some("PENDING_FIRST_USE")
            && self.token_value.is_some()
    }

    /// Whether the provision can no longer become ready: cancelled, failed, closed, or its
    /// credential expired.
    pub fn has_ended(&self) -> bool {
        matches!(self.status(), Some("CANCELLED" | "FAILED" | "CLOSED"))
            || self.credential_status() == Some("EXPIRED")
    }

    fn state(&self) -> String {
        let show = |v: Option<&str>| v.unwrap_or("none").to_string();
        format!(
            "status {}, sub_status {}, credential {}{}",
            show(self.status()),
            show(self.sub_status()),
            show(self.credential_status()),
            if self.token_value.is_some() { " with a token value" } else { "" }
        )
    }
}

/// A provision ready for onboarding, with the user's token value (its API key). Open the
/// user's context with [`BunqClient::open_provisioned_user`](super::BunqClient::open_provisioned_user),
/// which stores the token before its first use.
#[derive(Clone)]
pub struct ReadyProvision {
    provision: Provision,
    token_value: Secret,
}

impl fmt::Debug for ReadyProvision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadyProvision").field("provision", &self.provision).finish_non_exhaustive()
    }
}

impl ReadyProvision {
    /// The provision id.
    pub fn id(&self) -> i64 {
        self.provision.id
    }

    /// The user's API key. bunq shows it once: persist it before using it.
    pub fn token_value(&self) -> &Secret {
        &self.token_value
    }

    /// The provision as last read.
    pub fn provision(&self) -> &Provision {
        &self.provision
    }
}

/// How [`BunqContext::wait_for_user_provision`] polls: every `interval`, giving up after
/// `deadline`.
///
/// ```
/// use std::time::Duration;
/// use embed_sessions::bunq::ProvisionPoll;
/// let poll = ProvisionPoll::default()
///     .with_interval(Duration::from_secs(2))
///     .with_deadline(Duration::from_secs(120));
/// assert_eq!(poll.interval(), Duration::from_secs(2));
/// assert_eq!(ProvisionPoll::default().deadline(), Duration::from_secs(600));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvisionPoll {
    interval: Duration,
    deadline: Duration,
}

impl Default for ProvisionPoll {
    /// Every 5 s, for up to 10 minutes.
    fn default() -> Self {
        Self { interval: Duration::from_secs(5), deadline: Duration::from_secs(600) }
    }
}

impl ProvisionPoll {
    /// The pause between two reads (at least 1 ms).
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }

    /// How long to keep polling before giving up.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The pause between two reads.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How long polling goes on.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }
}

/// The timeout at the end of [`BunqContext::wait_for_user_provision`].
fn not_ready(id: i64, poll: ProvisionPoll, polls: u32, last_seen: &str) -> Error {
    Error::new(ErrorKind::Timeout)
        .with_message(format!(
            "provision {id} was not ready for onboarding within {:.1} s ({polls} reads; last \
             seen: {last_seen}); poll again later, or subscribe to the PARTNER_USER_PROVISION \
             notification category",
            poll.deadline.as_secs_f64(),
        ))
        .at(Bunq::DESCRIPTOR.name(), GET_PROVISION)
}

impl BunqContext {
    /// Starts provisioning a user (`POST /partner-user-provision`) with the partner's
    /// context. The email, phone number (E.164) and products are checked first.
    pub async fn create_user_provision(
        &self,
        request: types::PartnerUserProvisionCreate,
    ) -> Result<Provision, Error> {
        validate::email("email", &request.email)?;
        validate::phone_e164("phone_number", &request.phone_number)?;
        if request.products.is_empty() {
            return Err(Error::invalid_input("products", "name at least one (USER_VERIFIED)"));
        }
        let out = self
            .session_call(CREATE_PROVISION, None, |c, _| {
                let body = request.clone();
                async move { c.create_partner_user_provision().body(body).send().await }
            })
            .await?;
        let provision = Provision::from_response(CREATE_PROVISION, out.into_inner())?;
        tracing::debug!(provision_id = provision.id, "bunq: user provision created");
        Ok(provision)
    }

    /// Reads a provision (`GET /partner-user-provision/{id}`).
    pub async fn user_provision(&self, id: i64) -> Result<Provision, Error> {
        let out = self
            .session_call(GET_PROVISION, None, |c, _| async move {
                c.get_partner_user_provision().id(id).send().await
            })
            .await?;
        Provision::from_response(GET_PROVISION, out.into_inner())
    }

    /// Polls a provision until it is ready for onboarding ([`Provision::is_ready`]). Fails
    /// early when it ends ([`BunqReason::ProvisionEnded`]) and with [`ErrorKind::Timeout`] at
    /// the deadline, saying what was last seen. (bunq can also notify you: the
    /// `PARTNER_USER_PROVISION` notification category.)
    ///
    /// The deadline bounds the whole operation: no read starts after it, and a read in flight
    /// (with its retries, and a session renewal waiting for bunq's rate limit) is cut off one
    /// attempt's timeout after it, so the call returns within the deadline plus one attempt.
    pub async fn wait_for_user_provision(
        &self,
        id: i64,
        poll: ProvisionPoll,
    ) -> Result<ReadyProvision, Error> {
        let started = Instant::now();
        let far = Duration::from_secs(366 * 86_400);
        let deadline = started.checked_add(poll.deadline.min(far)).unwrap_or(started);
        let attempt = self.client().attempt_timeout();
        let hard = deadline.checked_add(attempt).unwrap_or(deadline);
        let mut polls = 0u32;
        let mut last_seen = "nothing yet".to_string();
        loop {
            let read = tokio::time::timeout_at(hard, self.user_provision(id)).await;
            let Ok(read) = read else {
                return Err(not_ready(id, poll, polls, &last_seen));
            };
            let provision = read?;
            polls += 1;
            last_seen = provision.state();
            if provision.is_ready()
                && let Some(token_value) = provision.token_value.clone()
            {
                tracing::debug!(provision_id = id, polls, "bunq: user provision ready");
                return Ok(ReadyProvision { provision, token_value });
            }
            if provision.has_ended() {
                let api = ApiError::new(
                    Reason::new(BunqReason::ProvisionEnded),
                    None,
                    Some(format!("provision {id} can no longer be used ({})", provision.state())),
                );
                return Err(Error::api(None, api).at(Bunq::DESCRIPTOR.name(), GET_PROVISION));
            }
            if Instant::now().checked_add(poll.interval).is_none_or(|next| next > deadline) {
                return Err(not_ready(id, poll, polls, &last_seen));
            }
            tokio::time::sleep(poll.interval).await;
        }
    }

    /// Requests a new credential for a provision whose token expired or leaked
    /// (`status: TOKEN_RESET_REQUESTED`); then poll again.
    pub async fn reset_user_provision_credential(&self, id: i64) -> Result<Provision, Error> {
        self.update_provision(id, types::PartnerUserProvisionUpdateStatus::TokenResetRequested)
            .await
    }

    /// Cancels a provision (`status: CANCELLED`).
    pub async fn cancel_user_provision(&self, id: i64) -> Result<Provision, Error> {
        self.update_provision(id, types::PartnerUserProvisionUpdateStatus::Cancelled).await
    }

    async fn update_provision(
        &self,
        id: i64,
        status: types::PartnerUserProvisionUpdateStatus,
    ) -> Result<Provision, Error> {
        let out = self
            .session_call(UPDATE_PROVISION, None, |c, _| async move {
                c.update_partner_user_provision()
                    .id(id)
                    .body(types::PartnerUserProvisionUpdate { status })
                    .send()
                    .await
            })
            .await?;
        Provision::from_response(UPDATE_PROVISION, out.into_inner())
    }
}
