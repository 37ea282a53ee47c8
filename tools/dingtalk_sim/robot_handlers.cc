// The simulator's custom group robot over HTTP (the logic is robot.cc):
//
//   POST /robot/send?access_token&timestamp&sign    DingTalk's robot send (oapi.dingtalk.com/robot/send)
//   GET  /admin/robot/messages                      what was accepted and how much was refused:
//                                                   {"messages":[{"received_ms","timestamp","msgtype","title",
//                                                   "text","body"}],"accepted","rejected":{errcode:n},
//                                                   "muted_until_ms"}
//   POST /admin/robot/reset                         forget messages, counters, the rate window, a mute

#include "dingtalk_sim/robot.h"
#include "dingtalk_sim/sim_server.h"

namespace sase::dingtalk_sim {

void SimServer::RegisterRobotRoutes() {
  robot_ = std::make_unique<RobotSim>(opt_.robot);
  http_.Post("/robot/send", [this](const Request& req, Response& res) {
    const nlohmann::json answer = robot_->Send(req.get_param_value("access_token"), req.get_param_value("timestamp"),
                                               req.get_param_value("sign"), req.body);
    ReplyNew(res, 200, answer);
  });
  http_.Get("/admin/robot/messages", [this](const Request&, Response& res) {
    nlohmann::json out = robot_->Dump();
    out["ok"] = true;
    ReplyNew(res, 200, out);
  });
  http_.Post("/admin/robot/reset", [this](const Request&, Response& res) {
    robot_->Reset();
    ReplyNew(res, 200, {{"ok", true}});
  });
}

}  // namespace sase::dingtalk_sim
