// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title SWAN Token (sandbox)
/// @notice The SWAN ERC-20 of the swan_jupyter sandbox: an OpenZeppelin 5 ERC-20 (18 decimals) whose owner
///         (the sandbox operator, the deploying account) can mint for the sandbox faucet. Allowance and balance
///         failures revert with the OpenZeppelin 5 custom errors `ERC20InsufficientAllowance` and
///         `ERC20InsufficientBalance`, like the production token's library does.
contract SwanToken is ERC20, Ownable {
    constructor() ERC20("SWAN Token", "SWAN") Ownable(msg.sender) {}

    /// @notice Mint `amount` wei of SWAN to `to` (owner only; sandbox faucet).
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
