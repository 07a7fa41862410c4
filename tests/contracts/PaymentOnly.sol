// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

interface IERC20Pull {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @notice A test double of a payment contract that emits only `Payment(address,string,uint256)` for
///         submissions and renewals (never `PaymentSubmitted`). The real ClientPayment ABI has both events and
///         its source is not public, so a client must not require one particular event to accept a payment.
contract PaymentOnly {
    IERC20Pull public immutable token;
    mapping(string => uint256) private _paid;

    event Payment(address payer, string uuid, uint256 amount);

    constructor(address paymentToken) {
        token = IERC20Pull(paymentToken);
    }

    function submitPayment(string calldata taskUuid, uint256, uint256 pricePerHour, uint256 duration) external {
        _pay(taskUuid, pricePerHour, duration);
    }

    function renewPayment(string calldata taskUuid, uint256, uint256 pricePerHour, uint256 duration) external {
        _pay(taskUuid, pricePerHour, duration);
    }

    function amountPaid(string calldata taskUuid) external view returns (uint256) {
        return _paid[taskUuid];
    }

    function _pay(string calldata taskUuid, uint256 pricePerHour, uint256 duration) private {
        uint256 due = (pricePerHour * duration) / 3600;
        _paid[taskUuid] += due;
        require(token.transferFrom(msg.sender, address(this), due), "transfer failed");
        emit Payment(msg.sender, taskUuid, due);
    }
}
