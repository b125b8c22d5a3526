// Every row of the admission table (design.md section 2), as a pure function.

#include "transport/admission.hpp"

#include <gtest/gtest.h>

namespace graceway::admission {
namespace {

Decision post(Body body, Lookup lookup, bool server_draining = false, bool at_capacity = false, bool answer_404 = false) {
  return decide({Verb::post, body, lookup, server_draining, at_capacity, answer_404});
}

void expect_refusal(const Decision& d, errc e) {
  EXPECT_EQ(d.action, Action::refuse);
  EXPECT_EQ(d.refusal, e);
}

TEST(AdmissionTest, AModernRequestIsServedStatelesslyWhateverItsSessionSays) {
  for (const auto lookup : {Lookup::no_id, Lookup::unknown, Lookup::closed, Lookup::open, Lookup::draining}) {
    EXPECT_EQ(decide({.verb = Verb::post, .body = Body::request, .session = lookup, .era = mcp::Era::modern}).action,
              Action::serve_stateless);
  }
  // No session counts against it, so --max-sessions does not either; a shutdown does.
  EXPECT_EQ(decide({.verb = Verb::post, .body = Body::request, .at_capacity = true, .era = mcp::Era::modern}).action,
            Action::serve_stateless);
  expect_refusal(decide({.verb = Verb::post, .body = Body::request, .server_draining = true, .era = mcp::Era::modern}),
                 errc::server_draining);
  expect_refusal(decide({.verb = Verb::get, .era = mcp::Era::modern}), errc::method_not_allowed);
}

TEST(AdmissionTest, InitializeWithoutSessionCreatesOne) {
  EXPECT_EQ(post(Body::initialize, Lookup::no_id).action, Action::create_session);
}

TEST(AdmissionTest, InitializeWhileTheServerDrainsIs503) {
  expect_refusal(post(Body::initialize, Lookup::no_id, /*server_draining=*/true), errc::server_draining);
}

TEST(AdmissionTest, InitializeBeyondMaxSessionsIs503) {
  expect_refusal(post(Body::initialize, Lookup::no_id, false, /*at_capacity=*/true), errc::too_many_sessions);
}

TEST(AdmissionTest, OtherMessagesWithoutSessionAre400) {
  expect_refusal(post(Body::request, Lookup::no_id), errc::session_required);
  expect_refusal(post(Body::notification_or_response, Lookup::no_id), errc::session_required);
  expect_refusal(decide({Verb::get, Body::none, Lookup::no_id}), errc::session_required);
  expect_refusal(decide({Verb::del, Body::none, Lookup::no_id}), errc::session_required);
}

TEST(AdmissionTest, UnknownOrClosedSessionIs404ForEveryMethod) {
  for (auto lookup : {Lookup::unknown, Lookup::closed}) {
    expect_refusal(post(Body::request, lookup), errc::session_not_found);
    expect_refusal(post(Body::notification_or_response, lookup), errc::session_not_found);
    expect_refusal(post(Body::initialize, lookup), errc::session_not_found);
    expect_refusal(decide({Verb::get, Body::none, lookup}), errc::session_not_found);
    expect_refusal(decide({Verb::del, Body::none, lookup}), errc::session_not_found);
    // A draining process still answers 404 for sessions it does not know.
    expect_refusal(post(Body::request, lookup, true), errc::session_not_found);
  }
}

TEST(AdmissionTest, RequestOnOpenSessionIsHandled) {
  EXPECT_EQ(post(Body::request, Lookup::open).action, Action::handle);
}

TEST(AdmissionTest, RequestOnDrainingSessionIs503OrByFlag404) {
  expect_refusal(post(Body::request, Lookup::draining), errc::session_draining);
  expect_refusal(post(Body::request, Lookup::draining, false, false, /*answer_404=*/true), errc::session_terminated);
}

TEST(AdmissionTest, NotificationsAndResponsesAreAcceptedWhileOpenOrDraining) {
  EXPECT_EQ(post(Body::notification_or_response, Lookup::open).action, Action::accept);
  EXPECT_EQ(post(Body::notification_or_response, Lookup::draining).action, Action::accept);
  EXPECT_EQ(post(Body::notification_or_response, Lookup::draining, true).action, Action::accept);
}

TEST(AdmissionTest, SecondInitializeOnASessionIsRefused) {
  expect_refusal(post(Body::initialize, Lookup::open), errc::already_initialized);
  expect_refusal(post(Body::initialize, Lookup::draining), errc::session_draining);
}

TEST(AdmissionTest, GetOpensTheStreamOnlyWhileOpen) {
  EXPECT_EQ(decide({Verb::get, Body::none, Lookup::open}).action, Action::open_stream);
  expect_refusal(decide({Verb::get, Body::none, Lookup::draining}), errc::session_draining);
  expect_refusal(decide({Verb::get, Body::none, Lookup::draining, false, false, true}), errc::session_terminated);
}

TEST(AdmissionTest, AResumeIsServedWhileTheSessionDrains) {
  EXPECT_EQ(decide({Verb::get, Body::none, Lookup::draining, false, false, false, true}).action, Action::open_stream);
  EXPECT_EQ(decide({Verb::get, Body::none, Lookup::draining, true, false, true, true}).action, Action::open_stream)
      << "even while the process shuts down: the work is already admitted";
  expect_refusal(decide({Verb::get, Body::none, Lookup::closed, false, false, false, true}), errc::session_not_found);
}

TEST(AdmissionTest, DeleteEndsOpenAndDrainingSessionsAlike) {
  EXPECT_EQ(decide({Verb::del, Body::none, Lookup::open}).action, Action::end_session);
  EXPECT_EQ(decide({Verb::del, Body::none, Lookup::draining}).action, Action::end_session);
}

TEST(AdmissionTest, NewSessionsAreNeverRefusedBecauseOthersDrain) {
  // Draining sessions do not make the server "at capacity"; only the process drain refuses.
  EXPECT_EQ(post(Body::initialize, Lookup::no_id, false, false).action, Action::create_session);
}

TEST(AdmissionTest, LegacySseOpenIsAdmittedLikeAnInitialize) {
  EXPECT_EQ(decide({.verb = Verb::sse_open}).action, Action::open_legacy);
  expect_refusal(decide({.verb = Verb::sse_open, .server_draining = true}), errc::server_draining);
  expect_refusal(decide({.verb = Verb::sse_open, .at_capacity = true}), errc::too_many_sessions);
}

TEST(AdmissionTest, TheFirstInitializeOfALegacySessionIsApplied) {
  EXPECT_EQ(decide({.verb = Verb::post, .body = Body::initialize, .session = Lookup::open, .awaiting_initialize = true})
                .action,
            Action::initialize_legacy);
  expect_refusal(decide({.verb = Verb::post, .body = Body::initialize, .session = Lookup::open}),
                 errc::already_initialized);
  expect_refusal(decide({.verb = Verb::post,
                         .body = Body::initialize,
                         .session = Lookup::draining,
                         .awaiting_initialize = true}),
                 errc::session_draining);
  expect_refusal(decide({.verb = Verb::post, .body = Body::initialize, .session = Lookup::unknown,
                         .awaiting_initialize = true}),
                 errc::session_not_found);
}

}  // namespace
}  // namespace graceway::admission
